"""Facial regions on the aligned face crop, from the reference face's landmarks.

Each region is a small set of mesh landmarks; its pixel mask in a ``size`` crop is the
convex hull of those landmarks (where the reference face puts them), grown a little.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from tells.face.align import crop_template

#: region name → mesh landmarks outlining it (subject's left = image right)
REGION_LANDMARKS: dict[str, list[int]] = {
    "brow_left": [285, 295, 282, 283, 276, 300, 293, 334, 296, 336],
    "brow_right": [55, 65, 52, 53, 46, 70, 63, 105, 66, 107],
    "glabella": [9, 107, 336, 151, 55, 285, 8],
    "eye_left": [362, 385, 387, 263, 373, 380, 398, 466, 249, 390],
    "eye_right": [33, 160, 158, 133, 153, 144, 173, 246, 7, 163],
    "cheek_left": [347, 330, 425, 411, 352, 280, 346],
    "cheek_right": [118, 101, 205, 187, 123, 50, 117],
    "nose": [6, 197, 195, 5, 4, 48, 278, 98, 327],
    "mouth_left": [291, 375, 321, 405, 409, 270, 287, 432],
    "mouth_right": [61, 146, 91, 181, 185, 40, 57, 212],
    "chin": [17, 84, 314, 200, 199, 175, 18, 83, 313],
}
REGIONS = list(REGION_LANDMARKS)
#: regions that expressions barely move: their motion is the residual head motion
STABLE_LANDMARKS = [168, 6, 197, 195, 5, 4, 1, 9, 151]


@lru_cache(maxsize=4)
def region_masks(size: int) -> np.ndarray:
    """(R, size, size) bool masks of :data:`REGIONS` in a ``size`` aligned crop."""
    tpl = crop_template(size)
    masks = []
    grow = max(1, size // 40)
    kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    for name in REGIONS:
        pts = tpl[REGION_LANDMARKS[name]].astype(np.float32)
        hull = cv2.convexHull(pts).astype(np.int32)
        m = np.zeros((size, size), np.uint8)
        cv2.fillConvexPoly(m, hull, 1)
        masks.append(cv2.dilate(m, kernel).astype(bool))
    return np.stack(masks)


@lru_cache(maxsize=4)
def stable_mask(size: int) -> np.ndarray:
    tpl = crop_template(size)
    pts = tpl[STABLE_LANDMARKS].astype(np.float32)
    hull = cv2.convexHull(pts).astype(np.int32)
    m = np.zeros((size, size), np.uint8)
    cv2.fillConvexPoly(m, hull, 1)
    return cv2.dilate(m, np.ones((5, 5), np.uint8)).astype(bool)
