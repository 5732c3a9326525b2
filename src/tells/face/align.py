"""Pose normalisation: landmarks into the reference head frame, and the aligned face crop."""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from tells.face.geometry import RIGID_POINTS, centred, frozen, reference_shape, umeyama

#: fraction of the crop side taken by one eye-corner distance
CROP_UNIT = 0.42
#: head-frame y of the crop centre (between the forehead top and the chin)
CROP_CENTRE_Y = -0.10


@lru_cache(maxsize=8)
def crop_template(size: int) -> np.ndarray:
    """(478, 2) where the reference face's landmarks fall in a ``size``×``size`` crop."""
    ref = reference_shape()[:, :2]
    return (ref - np.array([0.0, CROP_CENTRE_Y])) * (CROP_UNIT * size) + size / 2.0


def crop_matrix(landmarks: np.ndarray, size: int) -> np.ndarray:
    """2×3 similarity (in-plane) taking source pixels to the canonical crop."""
    s, rot, t = umeyama(landmarks[RIGID_POINTS, :2], None, dst_centred=_template_rigid(size))
    m = np.empty((2, 3))  # np.hstack([s * rot, t[:, None]]) without its wrapper
    m[:, :2] = s * rot
    m[:, 2] = t
    return m


@lru_cache(maxsize=8)
def _template_rigid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """:func:`centred` of the crop template's rigid points (the fixed side of the crop fit)."""
    return frozen(centred(crop_template(size)[RIGID_POINTS]))


def aligned_crop(image: np.ndarray, landmarks: np.ndarray, size: int = 128,
                 matrix: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Warp ``image`` so the face sits where the reference face does in a ``size`` crop.

    Returns ``(crop, matrix)``; pixels outside the source are replicated from the border.
    """
    m = crop_matrix(landmarks, size) if matrix is None else matrix
    crop = cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
    return crop, m


def sharpness(crop: np.ndarray) -> float:
    """Variance of the Laplacian of the aligned crop (low = blurred)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    if gray.dtype == np.uint8:
        # the Laplacian of uint8 pixels is an integer within ±1020, exact in int16 and in
        # float32 alike: OpenCV's integer path gives the same float32 image in a third of
        # the time
        lap = cv2.Laplacian(gray, cv2.CV_16S).astype(np.float32)
    else:
        lap = cv2.Laplacian(gray, cv2.CV_32F)
    return float(lap.var())
