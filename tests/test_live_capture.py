"""The capture queue's drop policy: bounded, the newest frame kept, and when analysis falls
behind the frames it gets are thinned evenly (no long hole in a face's rows)."""

from __future__ import annotations

import numpy as np

from tells.io.frames import Frame
from tells.live.sources import _DropQueue

IMG = np.zeros((2, 2, 3), np.uint8)


def _stall(size: int, frames: int) -> tuple[_DropQueue, list[int]]:
    """Frame 0 analysed, then ``frames`` more captured while analysis takes none; the
    indices of the frames analysed in the end (0 and those still waiting)."""
    q = _DropQueue(size, drop=True)
    q.put(Frame(0, 0.0, IMG))
    assert q.get().index == 0
    for k in range(1, frames + 1):
        q.put(Frame(k, k / 30, IMG))
        assert len(q.items) <= size and q.items[-1].index == k  # bounded, newest kept
    return q, [0] + [f.index for f in q.items]


def test_a_stall_is_thinned_evenly_not_cut_to_the_last_frames():
    for size, frames, longest in ((6, 30, 10), (4, 15, 6), (6, 15, 4)):
        q, kept = _stall(size, frames)
        assert kept == sorted(kept) and len(kept) == size + 1
        # dropping the oldest would leave a hole of frames - size + 1 frames
        assert max(np.diff(kept)) <= longest < frames - size + 1, kept
        assert q.n_dropped == frames - size
        assert sorted(q.dropped + kept[1:]) == list(range(1, frames + 1))
        # analysis takes them in time order
        assert [q.get().index for _ in range(size)] == kept[1:]


def test_before_analysis_starts_the_oldest_goes():
    q = _DropQueue(2, drop=True)
    for k in range(5):
        q.put(Frame(k, k / 30, IMG))
    assert [f.index for f in q.items] == [3, 4] and q.dropped == [0, 1, 2]
