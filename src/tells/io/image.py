"""Still images (jpg/png/bmp/webp/tiff, with alpha or grayscale) as RGB uint8 arrays."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from tells.errors import InputError
from tells.io.video import check_input_file

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB uint8 (H, W, 3). Alpha is composited over white; grayscale is
    expanded; 16-bit is scaled to 8-bit; EXIF orientation is applied."""
    p = check_input_file(path)
    data = np.fromfile(p, dtype=np.uint8)
    raw = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError(f"{p}: not an image file tells can read")
    return to_rgb(raw, exif_source=data if raw.ndim == 3 and raw.shape[2] == 3 else None)


def to_rgb(raw: np.ndarray, exif_source: np.ndarray | None = None) -> np.ndarray:
    """Normalise an OpenCV-decoded array (BGR/BGRA/gray, 8 or 16 bit) to RGB uint8."""
    if raw.dtype == np.uint16:
        raw = (raw / 257).astype(np.uint8)
    elif raw.dtype != np.uint8:
        raw = cv2.normalize(raw, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
    if raw.ndim == 2:
        return cv2.cvtColor(raw, cv2.COLOR_GRAY2RGB)
    if raw.shape[2] == 4:
        bgr = raw[..., :3].astype(np.float32)
        alpha = raw[..., 3:4].astype(np.float32) / 255.0
        out = bgr * alpha + 255.0 * (1.0 - alpha)
        return cv2.cvtColor(out.astype(np.uint8), cv2.COLOR_BGR2RGB)
    if exif_source is not None:  # IMREAD_COLOR applies EXIF orientation
        oriented = cv2.imdecode(exif_source, cv2.IMREAD_COLOR)
        if oriented is not None:
            raw = oriented
    return cv2.cvtColor(raw, cv2.COLOR_BGR2RGB)


def is_image_path(path: str | os.PathLike) -> bool:
    return Path(path).suffix.lower() in IMAGE_EXTENSIONS
