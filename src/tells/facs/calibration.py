"""A face's resting state read from a whole recording (offline analysis only).

The streaming neutral (:class:`tells.facs.baseline.NeutralBaseline`) starts from a face's
first calm frames. A recording that opens on an expression gives a neutral inside that
expression, and the face then reads *below* rest for the rest of the recording:
WolfgangLanger_Pexels.mp4 opens crying with the inner brows raised, the neutral holds them
raised, and her later brow raises read as nothing (AU01 r with OpenFace 2 .31).

With the whole recording at hand the resting state can be read from it. A face is at rest in
at least :data:`REST_SHARE` of a recording's frames, so where more than that share reads
below rest in a unit, the neutral was not at rest in that unit: the unit's geometric evidence
is raised by the difference for the whole recording (:func:`rest_offset`). It is never
lowered, so a face that is expressive most of the time keeps its readings. The share is taken
over the frames in which the other units of the same part of the face (:data:`REGIONS`) read
below a trace: a smile pulls the lip corners up, against the depressor, and a man smiling
through most of a short clip (single_face.mp4) would otherwise have his resting mouth read as
AU15 5 and AU23 4.5. OpenFace 2 corrects its offline readings in a similar way (a per-unit
percentile of the recording's predictions) for the units it reads against a person's
neutral, its "dynamic" models; :data:`UNITS` are those of them that tells reads from the
mesh's geometry.

Live analysis cannot see the rest of the recording and keeps the streaming neutral.
"""

from __future__ import annotations

import numpy as np

from tells.facs.aus import AU_TABLE, LINEAR, linear_evidence
from tells.facs.features import NAMES
from tells.facs.motion import MOTION_AUS

#: units whose resting reading is corrected over a recording
UNITS = ("AU01", "AU02", "AU05", "AU09", "AU15", "AU17", "AU20", "AU23", "AU25", "AU26")
#: share of a recording's frames in which a face is taken to be at rest in any one unit
REST_SHARE = 0.5
#: the parts of the face: a unit's rest is read from the frames where the others of its part
#: read below a trace
REGIONS = (("AU01", "AU02", "AU04"), ("AU05", "AU06", "AU07", "AU45"),
           ("AU09", "AU10", "AU12", "AU14", "AU15", "AU17", "AU20", "AU23", "AU24", "AU25",
            "AU26"))
#: the intensity of a trace (A)
TRACE = 1.0
#: the fewest frames of a face a correction is read from
MIN_ROWS = 30
#: and the shortest span of them (s): a face at rest half the time is a fact of conversations
#: and calls, not of a short clip made to show one expression (POFA photos held 3 s in a 6 s
#: clip: the expression is most of it)
MIN_SECONDS = 10.0
#: a unit is corrected only when its median evidence lies below rest by more than this share
#: of its dead zone (less is the measurements' noise)
MIN_SHIFT = 0.5
#: the keys of the skin-motion evidence (:func:`tells.facs.motion.motion_evidence`)
MOTION_KEYS = [*MOTION_AUS, "closure"]

_UNIT_ROWS = [LINEAR.index(u) for u in UNITS]
_NOISE = np.array([MIN_SHIFT * AU_TABLE[u].dead for u in UNITS])
_BLOCK = 4096
_N = len(NAMES)


def rest_offset(x: np.ndarray, neutral: np.ndarray, read: dict[str, np.ndarray],
                t: np.ndarray) -> np.ndarray | None:
    """The correction of one face over a recording: ``offset`` for
    :func:`tells.facs.aus.intensities` (zero but for :data:`UNITS`, each ≤ 0: the evidence
    at the :data:`REST_SHARE` quantile where that is below rest by more than
    :data:`MIN_SHIFT` dead zones, over the frames in which the other units of its part of
    the face read below :data:`TRACE`), or ``None`` when there is nothing to correct or the
    face was seen for less than :data:`MIN_SECONDS`. A unit with fewer than
    :data:`MIN_ROWS` such frames is left as read.

    Parameters
    ----------
    x, neutral : (frames, measurements) the face's measurements and the neutral each frame
        was read against.
    read : the intensities each frame was read with, ``{"AU04": (frames,), ...}`` for the
        units of :data:`REGIONS` (a unit missing counts as at rest).
    t : (frames,) their timestamps (s).
    """
    if len(x) < MIN_ROWS or len(t) == 0 or float(np.max(t) - np.min(t)) < MIN_SECONDS:
        return None
    v = np.array([linear_evidence(a, b)[_UNIT_ROWS] for a, b in zip(x, neutral, strict=True)])
    below = np.zeros(len(UNITS))
    for k, unit in enumerate(UNITS):
        part = next(r for r in REGIONS if unit in r)
        rest = np.ones(len(x), bool)
        for other in part:
            if other != unit and other in read:
                rest &= np.asarray(read[other]) < TRACE
        if rest.sum() >= MIN_ROWS:
            q = float(np.quantile(v[rest, k], REST_SHARE))
            below[k] = q if q < -_NOISE[k] else 0.0
    if not (below < 0.0).any():
        return None
    offset = np.zeros(len(LINEAR))
    offset[_UNIT_ROWS] = below
    return offset


class InputLog:
    """What the AU stage read each face row from, in the order of its calls (float32 blocks,
    about 0.5 kB a row): face id, measurements, neutral, skin motion (NaN when none)."""

    def __init__(self) -> None:
        self._width = 2 + 2 * _N + len(MOTION_KEYS)
        self._blocks: list[np.ndarray] = []
        self._used = _BLOCK
        self.rows = 0

    def add(self, face_id: int, x: np.ndarray, neutral: np.ndarray,
            motion: dict[str, float] | None) -> None:
        if self._used == _BLOCK:
            self._blocks.append(np.full((_BLOCK, self._width), np.nan, np.float32))
            self._used = 0
        row = self._blocks[-1][self._used]
        row[0] = face_id
        row[1:1 + _N] = x
        row[1 + _N:1 + 2 * _N] = neutral
        if motion is not None:
            row[1 + 2 * _N] = 1.0
            row[2 + 2 * _N:] = [motion.get(k, np.nan) for k in MOTION_KEYS]
        self._used += 1
        self.rows += 1

    def face_ids(self) -> np.ndarray:
        """(rows,) the face id of each logged row."""
        return self._column(slice(0, 1))[:, 0].astype(np.int64)

    def measurements(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``(x, neutral)`` of the logged ``rows`` (indices), float64 (frames, measurements)."""
        data = self._column(slice(1, 1 + 2 * _N))[rows].astype(np.float64)
        return data[:, :_N], data[:, _N:]

    def motion(self, rows: np.ndarray) -> list[dict[str, float] | None]:
        """The skin-motion evidence of the logged ``rows`` (``None`` where there was none)."""
        data = self._column(slice(1 + 2 * _N, self._width))[rows].astype(np.float64)
        return [{k: v for k, v in zip(MOTION_KEYS, r[1:].tolist(), strict=True) if v == v}
                if r[0] == 1.0 else None for r in data]  # v != v: NaN, a key it did not have

    def _column(self, cols: slice) -> np.ndarray:
        if not self._blocks:
            return np.empty((0, cols.stop - cols.start), np.float32)
        return np.concatenate([b[:, cols] for b in self._blocks])[:self.rows]
