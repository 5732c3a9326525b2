"""The spotting stage in the per-frame pipeline: each face's regional landmark positions in the
pose-normalised head frame and how brightly each side of the face is lit, kept compactly (28
numbers a frame, no images, no full meshes) for event detection after the last frame."""

from __future__ import annotations

import cv2
import numpy as np

from tells.face.observation import FaceObservation
from tells.io.table import Series
from tells.spotting.regions import REGION_LANDMARKS, REGIONS

#: per frame: each region's mean landmark (x, y) in the head frame
N_POSITIONS = 2 * len(REGIONS)
#: then the skin brightness of the face's right and left halves (:func:`skin_light`)
N_FEATURES = N_POSITIONS + 2


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


def skin_light(crop: np.ndarray | None) -> np.ndarray:
    """(2,) mean gray level of the aligned face crop's left and right image halves (the
    face's right and left), over the band from the brows to the chin, less the crop's outer
    eighths (mostly background); a lamp, a window or a screen lighting the face from a new
    side changes their ratio, a brighter or darker room both. Zeros without a crop."""
    if crop is None:
        return np.zeros(2, np.float32)
    size = crop.shape[0]
    r0, r1, c0, half = int(0.2 * size), int(0.85 * size), int(0.12 * size), size // 2
    # cv2.mean: the channels' means (one for the gray crop of the pipeline), a third of
    # numpy's cost on these small views
    right = cv2.mean(crop[r0:r1, c0:half])
    left = cv2.mean(crop[r0:r1, half:size - c0])
    k = 1 if crop.ndim == 2 else crop.shape[2]
    return np.array([sum(right[:k]) / k, sum(left[:k]) / k], np.float32)


def spotting_record(obs: FaceObservation) -> np.ndarray:
    """(:data:`N_FEATURES`,) what spotting keeps of a face's frame: :func:`region_positions`
    then :func:`skin_light`."""
    out = np.empty(N_FEATURES)
    out[:N_POSITIONS] = region_positions(obs.aligned)
    out[N_POSITIONS:] = skin_light(obs.crop)
    return out


class MotionStage:
    """Adds no columns; records each face's regional landmark positions and side lighting
    (:func:`spotting_record`) for :mod:`tells.spotting`."""

    columns: list[str] = []

    def __init__(self) -> None:
        self._series: dict[int, Series] = {}

    def __call__(self, obs: FaceObservation) -> dict[str, float]:
        series = self._series.get(obs.face_id)
        if series is None:
            series = self._series[obs.face_id] = Series(N_FEATURES)
        series.append(obs.frame, spotting_record(obs))
        return {}

    def finish(self) -> None:
        pass

    def series(self, face_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(frame indices, records (N, :data:`N_FEATURES`)) for ``face_id``: positions (2 R)
        then the two sides' skin light."""
        s = self._series.get(face_id)
        return s.arrays() if s else (np.zeros(0, np.int64), np.zeros((0, N_FEATURES), np.float32))
