"""Faces in a still image: full-range detection, then the mesh on each face's crop.

Tight face crops (little or no background, e.g. 48×48 dataset crops) defeat the detector, so
a padded and upscaled copy is tried next; :func:`find_faces` reports which way each face was
found.
"""

from __future__ import annotations

import cv2
import numpy as np

from tells.face.mp import FaceDetector, FaceMesher
from tells.face.track import mesh_in_crop

_detector: FaceDetector | None = None
_mesher: FaceMesher | None = None


def _models() -> tuple[FaceDetector, FaceMesher]:
    global _detector, _mesher
    if _detector is None:
        _detector = FaceDetector(min_confidence=0.5)
        _mesher = FaceMesher(static=True)
    return _detector, _mesher


def detector() -> FaceDetector:
    """The shared full-range detector for still images."""
    return _models()[0]


def find_faces(image: np.ndarray, max_faces: int = 20) -> list[tuple[np.ndarray, float, str]]:
    """Return ``(landmarks, score, how)`` per face; ``how`` is ``"detected"`` or ``"padded"``
    (found only after padding/upscaling a tight crop). Landmarks in ``image`` pixels."""
    det, mesher = _models()
    faces = []
    for d in sorted(det(image), key=lambda d: -d.score)[:max_faces]:
        lm = mesh_in_crop(mesher, image, d.box, factor=1.8)
        if lm is not None:
            faces.append((lm, d.score, "detected"))
    if faces:
        return faces
    # a tight crop: pad with the border colour and make it large enough for the models
    h, w = image.shape[:2]
    up = max(1.0, 256.0 / max(h, w))
    big = cv2.resize(image, (round(w * up), round(h * up)), interpolation=cv2.INTER_CUBIC)
    pad = int(0.6 * max(big.shape[:2]))
    padded = cv2.copyMakeBorder(big, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    for d in sorted(det(padded), key=lambda d: -d.score)[:max_faces]:
        lm = mesh_in_crop(mesher, padded, d.box, factor=1.8)
        if lm is not None:
            lm = lm.copy()
            lm[:, :2] = (lm[:, :2] - pad) / up
            lm[:, 2] /= up
            faces.append((lm, d.score, "padded"))
    if not faces:  # last try: the mesh on the padded image as a whole
        lm = mesher(padded)
        if lm is not None:
            lm[:, :2] = (lm[:, :2] - pad) / up
            lm[:, 2] /= up
            faces.append((lm, 0.0, "padded"))
    return faces
