"""The record the face layer hands to every later stage."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass(slots=True)
class FaceObservation:
    """One face in one frame.

    Attributes
    ----------
    face_id : stable id of the tracked face (0, 1, …) within one video.
    frame, t : frame index and presentation time (s).
    box : (x, y, width, height) of the mesh in source pixels.
    confidence : detector score 0..1 from the last detection of this face.
    landmarks : (478, 3) mesh in source pixels (z in the same scale as x, negative = nearer).
    pose : (Rx, Ry, Rz) head rotation in radians, OpenFace convention.
    scale, rotation, translation : similarity ``landmarks ≈ scale R ref + t`` (reference face).
    aligned : (478, 3) pose-normalised landmarks in the reference head frame
        (frontal; unit = outer eye-corner distance) — what FACS geometry reads.
    crop : aligned canonical face image (size × size), roll/scale/position removed: gray
        uint8 in video (from the decoder's luma), RGB uint8 for still images.
    crop_matrix : 2×3 affine from source pixels to crop pixels.
    quality : flags ``small``, ``pose``, ``blur``, ``partial`` (True = problem).
    """

    face_id: int
    frame: int
    t: float
    box: tuple[float, float, float, float]
    confidence: float
    landmarks: np.ndarray
    pose: tuple[float, float, float]
    scale: float
    rotation: np.ndarray
    translation: np.ndarray
    aligned: np.ndarray
    crop: np.ndarray | None = None
    crop_matrix: np.ndarray | None = None
    quality: dict[str, bool] = field(default_factory=dict)
    sharpness: float = float("nan")

    @property
    def quality_ok(self) -> bool:
        return not any(self.quality.values())
