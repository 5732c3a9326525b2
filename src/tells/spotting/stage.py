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


def region_positions(aligned: np.ndarray) -> np.ndarray:
    """(2 R,) mean head-frame (x, y) of each region's landmarks."""
    return np.concatenate([aligned[REGION_LANDMARKS[r], :2].mean(0) for r in REGIONS])


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
