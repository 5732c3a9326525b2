"""The live spotter's baseline: a rolling median whose window is cut at the newest row (and at
a young track's first row) instead of extended with copies of the end rows."""

from __future__ import annotations

import numpy as np
import pytest

from tells.live.spotter import OnlineSpotter
from tells.spotting.spot import SpotParams, rolling_percentile


def _expected(x: np.ndarray, size: int, cut: tuple[bool, bool]) -> list[list[np.ndarray]]:
    """Per row and column, the values of its window: rows past a cut end left out, rows past
    an end that is not cut read as copies of the end row."""
    n, h = len(x), size // 2
    out = []
    for r in range(n):
        idx = np.arange(r - h, r + h + 1)
        if cut[0]:
            idx = idx[idx >= 0]
        if cut[1]:
            idx = idx[idx < n]
        out.append(x[np.clip(idx, 0, n - 1)])
    return out


@pytest.mark.parametrize("cut", [(True, True), (False, True), (True, False)])
def test_cut_window_median_is_the_median_of_the_rows_it_holds(cut):
    rng = np.random.default_rng(7)
    for n in list(range(1, 14)) + [60, 121, 240, 241, 242, 500]:
        for size in (1, 3, 5, 9, 241):
            x = rng.normal(size=(n, 3)).astype(np.float32)
            x[rng.random((n, 3)) < 0.2] = 0.5  # ties
            got = rolling_percentile(x, 50, size, cut)
            assert got.shape == x.shape and np.isfinite(got).all()
            for r, win in enumerate(_expected(x.astype(np.float64), size, cut)):
                s = np.sort(win, axis=0)
                lo, hi = s[(len(win) - 1) // 2], s[len(win) // 2]
                # the middle value (of an even count, one of the two middle ones)
                assert np.all((got[r] == lo) | (got[r] == hi)), (n, size, r)


def test_uncut_window_is_unchanged_and_cut_needs_the_median():
    x = np.random.default_rng(1).normal(size=(50, 2))
    from scipy.ndimage import percentile_filter

    want = percentile_filter(x, 50, size=(21, 1), mode="nearest")
    assert np.array_equal(rolling_percentile(x, 50, 21, (False, False)), want)
    with pytest.raises(ValueError):
        rolling_percentile(x, 20, 21, (False, True))


def test_online_spotter_cuts_the_window_at_the_newest_row():
    spotter = OnlineSpotter(["frame", "timestamp", "face_id", "success"])
    assert spotter.params.causal and not SpotParams().causal
    # only the parameters it was asked to change differ from the offline ones
    assert spotter.params.__class__(**{**spotter.params.__dict__, "causal": False}) == SpotParams()
