"""Image helpers for stimuli: reading with clear errors, writing PNG, and the 2-D similarity
fit that registers an expression image onto its neutral image (``tells.face.geometry``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tells.errors import InputError, OutputError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")


def read_rgb(path: str | Path) -> np.ndarray:
    """Read an image file as an ``(H, W, 3)`` uint8 RGB array.

    Raises
    ------
    InputError
        The file is missing or is not a readable image.
    """
    import cv2

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{p}: no such image file")
    data = np.fromfile(p, dtype=np.uint8)
    img = cv2.imdecode(data, cv2.IMREAD_COLOR) if data.size else None
    if img is None:
        raise InputError(f"{p}: cannot read the image (not a PNG/JPEG or the file is corrupt)")
    return np.ascontiguousarray(img[:, :, ::-1])


def write_png(path: str | Path, rgb: np.ndarray) -> None:
    import cv2

    p = Path(path)
    ok, buf = cv2.imencode(".png", np.ascontiguousarray(rgb[:, :, ::-1]))
    if not ok:
        raise OutputError(f"{p}: cannot encode the image")
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(buf.tobytes())
    except OSError as exc:
        raise OutputError(f"{p}: cannot write ({exc.strerror})") from None


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    pts = np.asarray(pts, dtype=np.float64)[:, :2]
    return pts @ m[:, :2].T + m[:, 2]
