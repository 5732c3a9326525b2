"""Local facial motion: optical flow in facial regions of the aligned face.

For each face and frame, DIS optical flow (OpenCV, ultrafast preset) runs between the aligned
crop now and the crop about ``lag_s`` earlier (a short moving reference, so slow drifts and
lighting changes cancel). Head motion is removed twice: by the alignment itself, and by
subtracting the median flow of the nose bridge (a region expressions do not move). The
output per frame is the mean flow magnitude in each region (pixels of a 128-px face) and
the mean optical strain magnitude over the face.
"""

from __future__ import annotations

from collections import deque

import cv2
import numpy as np

from tells.spotting.regions import REGIONS, region_masks, stable_mask

#: crop side used for flow (the aligned crop is resized to this if it differs)
FLOW_SIZE = 96


class RegionMotion:
    """Per-face streaming motion features. Call with ``(t, crop_rgb)`` in time order; returns
    the flow magnitude per region against the crop ``lag_s`` earlier, and the mean optical
    strain over the face (``len(REGIONS) + 1`` numbers)."""

    def __init__(self, lag_s: float = 0.1, size: int = FLOW_SIZE):
        self.lag_s = lag_s
        self.size = size
        self._past: deque[tuple[float, np.ndarray]] = deque()
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
        masks = region_masks(size)
        counts = masks.reshape(len(REGIONS), -1).sum(1).astype(np.float32)
        self._weights = masks.reshape(len(REGIONS), -1).astype(np.float32) / counts[:, None]
        self._stable = stable_mask(size)
        self._face = masks.any(0)
        self.n_features = len(REGIONS) + 1

    def __call__(self, t: float, crop: np.ndarray) -> np.ndarray:
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
        if gray.shape[0] != self.size:
            gray = cv2.resize(gray, (self.size, self.size), interpolation=cv2.INTER_AREA)
        past = self._past
        past.append((t, gray))
        # reference: the newest crop at least lag_s old (or the oldest kept)
        while len(past) > 2 and past[1][0] <= t - self.lag_s:
            past.popleft()
        ref_t, ref = past[0]
        if ref_t >= t:
            return np.zeros(self.n_features, np.float32)
        flow = self._dis.calc(ref, gray, None)
        flow -= np.median(flow[self._stable], axis=0)
        mag = np.sqrt((flow**2).sum(-1)).reshape(-1)
        ux, uy = np.gradient(flow[..., 0]), np.gradient(flow[..., 1])
        strain = np.sqrt(ux[1] ** 2 + uy[0] ** 2 + 0.5 * (ux[0] + uy[1]) ** 2)
        return np.append(self._weights @ mag, strain[self._face].mean()).astype(np.float32)
