"""The spotting stage in the per-frame pipeline: each face's regional landmark positions in the
pose-normalised head frame, kept compactly (22 numbers a frame, no images, no full meshes) for
event detection after the last frame."""

from __future__ import annotations

import numpy as np

from tells.face.observation import FaceObservation
from tells.io.table import Series
from tells.spotting.regions import REGION_LANDMARKS, REGIONS

#: per frame: each region's mean landmark (x, y) in the head frame
N_FEATURES = 2 * len(REGIONS)


def _region_gather() -> tuple[np.ndarray, list[int], np.ndarray, np.ndarray]:
    """For :func:`region_positions`: the regions longest first, as a (R, longest) landmark
    index table (shorter rows padded, the padding never read), how many regions are longer
    than each position, each region's landmark count, and the order back to :data:`REGIONS`."""
    order = sorted(range(len(REGIONS)), key=lambda i: -len(REGION_LANDMARKS[REGIONS[i]]))
    lengths = [len(REGION_LANDMARKS[REGIONS[i]]) for i in order]
    table = np.zeros((len(order), lengths[0]), np.intp)
    for row, i in enumerate(order):
        table[row, :lengths[row]] = REGION_LANDMARKS[REGIONS[i]]
    longer = [sum(n > k for n in lengths) for k in range(lengths[0])]
    return table, longer, np.array(lengths, np.float64)[:, None], np.argsort(order)


_TABLE, _LONGER, _COUNTS, _BACK = _region_gather()


def region_positions(aligned: np.ndarray) -> np.ndarray:
    """(2 R,) mean head-frame (x, y) of each region's landmarks.

    Exactly ``np.concatenate([aligned[REGION_LANDMARKS[r], :2].mean(0) for r in REGIONS])``
    (``mean(0)`` adds the rows one after the other, then divides by the count), from one
    gather and a few whole-table additions instead of 13 small means."""
    aligned = np.asarray(aligned)
    if aligned.dtype != np.float64:  # (the pipeline's is float64) numpy's own way
        return np.concatenate([aligned[REGION_LANDMARKS[r], :2].mean(0) for r in REGIONS])
    g = aligned[:, :2][_TABLE]  # (R, longest, 2)
    total = g[:, 0].copy()
    for k in range(1, g.shape[1]):
        m = _LONGER[k]
        total[:m] += g[:m, k]
    return (total / _COUNTS)[_BACK].ravel()


class MotionStage:
    """Adds no columns; records each face's regional landmark positions for
    :mod:`tells.spotting`."""

    columns: list[str] = []

    def __init__(self) -> None:
        self._series: dict[int, Series] = {}

    def __call__(self, obs: FaceObservation) -> dict[str, float]:
        series = self._series.get(obs.face_id)
        if series is None:
            series = self._series[obs.face_id] = Series(N_FEATURES)
        series.append(obs.frame, region_positions(obs.aligned))
        return {}

    def finish(self) -> None:
        pass

    def series(self, face_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(frame indices, positions (N, 2 R)) recorded for ``face_id``."""
        s = self._series.get(face_id)
        return s.arrays() if s else (np.zeros(0, np.int64), np.zeros((0, N_FEATURES), np.float32))
