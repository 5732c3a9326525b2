"""Flow images for recognition research: reading precomputed ones and computing them from an
onset and an apex face image.

A flow image has three channels: horizontal flow u, vertical flow v and optical strain, onset
to apex. Read from disk it becomes a float32 ``(H, W, 3)`` array:

* ``.npy``: used as stored (``(H, W, 3)`` or ``(3, H, W)``).
* 8- or 16-bit images (PNG, JPEG, ...): channels in RGB order (R = u, G = v, B = strain, as
  PIL/imageio write them; OpenCV's BGR is converted), each mapped to [-1, 1] (0 → -1,
  mid-grey → 0, white → 1). Under that mapping a horizontal mirror negates u for both the
  common encodings (mid-grey = zero flow, and per-image min-max stretch).

Computing flow (:func:`flow_from_pair`): both images are aligned to a square face crop,
converted to grey, and DIS optical flow (OpenCV, preset medium) runs onset → apex; strain is
``sqrt(ux² + vy² + ½(uy + vx)²)``. Alignment uses :func:`tells.analyze_image`: the onset face
box (from its 478 landmarks, with a margin) fixes the crop; the apex is brought onto the onset
by a similarity fit of landmarks that expressions barely move (eye corners, nose bridge, nose
tip), so head motion is removed but the expression is kept. Without a face (or with
``align=False``) the whole image is used, and the caller is told.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tells.errors import InputError
from tells.face.geometry import similarity_matrix as similarity_fit

#: MediaPipe face-mesh points that expressions barely move: eye corners, nose bridge, nose
STABLE_LANDMARKS = [33, 133, 362, 263, 168, 6, 197, 195, 5, 4]


def read_flow(path: str | Path) -> np.ndarray:
    """A flow image as float32 ``(H, W, 3)`` (u, v, strain); see the module docstring."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such flow file")
    if path.suffix.lower() == ".npy":
        try:
            arr = np.load(path, allow_pickle=False)
        except (ValueError, OSError) as exc:
            raise InputError(f"{path}: not a readable .npy array ({exc})") from None
        if arr.ndim == 3 and arr.shape[0] == 3 and arr.shape[2] != 3:
            arr = np.transpose(arr, (1, 2, 0))
        if arr.ndim != 3 or arr.shape[2] != 3:
            raise InputError(f"{path}: flow array has shape {arr.shape}, expected (H, W, 3)")
        return arr.astype(np.float32)
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if img is None:
        raise InputError(f"{path}: not a readable image")
    if img.ndim != 3 or img.shape[2] < 3:
        raise InputError(f"{path}: flow image needs 3 channels (u, v, strain), it has "
                         f"{1 if img.ndim == 2 else img.shape[2]}")
    img = img[:, :, 2::-1]  # BGR(A) -> RGB
    top = 65535.0 if img.dtype == np.uint16 else 255.0
    return (img.astype(np.float32) / top * 2.0 - 1.0).astype(np.float32)


def write_flow_png(
    path: str | Path, flow: np.ndarray, scale: float | tuple[float, float, float]
) -> None:
    """Write u, v, strain as an 8-bit RGB PNG with mid-grey = zero flow:
    ``value = 127.5 + 127.5 * channel / scale`` (clipped; one scale or one per channel)."""
    import cv2

    scale = np.broadcast_to(np.asarray(scale, dtype=np.float32), (3,))
    enc = np.clip(127.5 + 127.5 * flow / scale, 0, 255).round().astype(np.uint8)
    if not cv2.imwrite(str(path), enc[:, :, ::-1]):
        raise InputError(f"{path}: cannot write image")


def optical_strain(u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Optical strain magnitude ``sqrt(ux² + vy² + ½(uy + vx)²)`` of a flow field."""
    uy, ux = np.gradient(u)
    vy, vx = np.gradient(v)
    exy = 0.5 * (uy + vx)
    return np.sqrt(ux**2 + vy**2 + 2 * exy**2).astype(np.float32)


def dis_flow(onset_gray: np.ndarray, apex_gray: np.ndarray) -> np.ndarray:
    """DIS optical flow onset → apex on two uint8 grey images; returns ``(H, W, 3)`` float32
    u, v, strain in pixels of the input."""
    import cv2

    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
    flow = dis.calc(onset_gray, apex_gray, None)
    u, v = flow[..., 0], flow[..., 1]
    return np.dstack([u, v, optical_strain(u, v)]).astype(np.float32)


def _read_rgb(path: Path) -> np.ndarray:
    import cv2

    img = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if img is None:
        raise InputError(f"{path}: not a readable image")
    return img[:, :, ::-1].copy()


def _largest_face_landmarks(rgb: np.ndarray) -> np.ndarray | None:
    import tells

    faces = tells.analyze_image(rgb)
    faces = [f for f in faces if getattr(f, "landmarks", None) is not None]
    if not faces:
        return None
    best = max(faces, key=lambda f: float(f.box[2]) * float(f.box[3]))
    return np.asarray(best.landmarks, dtype=np.float64)[:, :2]


def flow_from_pair(
    onset: str | Path, apex: str | Path, size: int = 128, align: bool = True
) -> tuple[np.ndarray, bool]:
    """Onset → apex flow image of a face.

    Parameters
    ----------
    onset, apex
        Image paths.
    size
        Side of the square face crop the flow is computed on.
    align
        Find the face with :func:`tells.analyze_image` and align (see module docstring);
        ``False`` uses the whole images, resized.

    Returns
    -------
    flow : ndarray
        ``(size, size, 3)`` float32 u, v, strain, in pixels of the crop.
    aligned : bool
        Whether face alignment was used (False when asked not to or when no face was found).
    """
    import cv2

    a, b = _read_rgb(Path(onset)), _read_rgb(Path(apex))
    warped = None
    if align:
        la, lb = _largest_face_landmarks(a), _largest_face_landmarks(b)
        if la is not None and lb is not None:
            lo, hi = la.min(0), la.max(0)
            centre = (lo + hi) / 2
            side = float((hi - lo).max()) * 1.15
            scale = size / side
            crop = np.array([[scale, 0, size / 2 - scale * centre[0]],
                             [0, scale, size / 2 - scale * centre[1]]])
            target = (crop[:, :2] @ la[STABLE_LANDMARKS].T).T + crop[:, 2]
            m_apex = similarity_fit(lb[STABLE_LANDMARKS], target)
            warped = (
                cv2.warpAffine(a, crop, (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE),
                cv2.warpAffine(b, m_apex, (size, size), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REPLICATE),
            )
    aligned = warped is not None
    if warped is None:
        warped = tuple(cv2.resize(x, (size, size), interpolation=cv2.INTER_AREA) for x in (a, b))
    ga, gb = (cv2.cvtColor(np.ascontiguousarray(x), cv2.COLOR_RGB2GRAY) for x in warped)
    return dis_flow(ga, gb), aligned
