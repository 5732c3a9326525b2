"""An appearance descriptor of a face, for telling people apart when they come back.

The model is the 128-D face-recognition ResNet that the ``@vladmandic/face-api`` npm package
(MIT) carries as TF.js weights (``face_recognition_model.bin`` plus its JSON manifest; a port of
dlib's ResNet face descriptor: distance < 0.6 is dlib's same-person line). The weights are
read into numpy (uint8-quantised tensors are expanded with the manifest's scale and minimum)
and the forward pass runs here in numpy: no JavaScript and no TensorFlow at run time. Files
are provisioned by :mod:`tells.io.provision` (``tells models fetch``).

:func:`face_chip` cuts the 150×150 RGB input out of a frame from the face's mesh, roll removed.
A descriptor costs about 20 ms on one core, so the tracker computes one only when a face
appears, comes back, or at a few spaced moments of a track, never on every frame.

May import: numpy, OpenCV, :mod:`tells.io.provision`.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

#: side of the model's input
CHIP = 150
#: padding around the face outline, relative to its size
PAD = 0.35
_MEAN_RGB = np.array([122.782, 117.001, 104.298], dtype=np.float32)
#: mesh points: eye corners (outer, inner) of each eye, and the mouth corners
_R_EYE, _L_EYE = (33, 133), (263, 362)


def load_weights(bin_path: Path, manifest_path: Path) -> dict[str, np.ndarray]:
    """Tensors of a TF.js weights file by name (float32; quantised ones de-quantised)."""
    groups = json.loads(Path(manifest_path).read_text())
    raw = Path(bin_path).read_bytes()
    out, pos = {}, 0
    for group in groups:
        for spec in group["weights"]:
            n = int(np.prod(spec["shape"])) if spec["shape"] else 1
            q = spec.get("quantization")
            if q:
                dtype = np.dtype(q["dtype"])
                vals = np.frombuffer(raw, dtype=dtype, count=n, offset=pos)
                arr = vals.astype(np.float32) * np.float32(q["scale"]) + np.float32(q["min"])
            else:
                dtype = np.dtype(spec["dtype"])
                arr = np.frombuffer(raw, dtype=dtype, count=n, offset=pos).astype(np.float32)
            pos += n * dtype.itemsize
            out[spec["name"]] = arr.reshape(spec["shape"])
    if pos != len(raw):
        raise ValueError(f"{bin_path} has {len(raw)} bytes, its manifest describes {pos}")
    return out


def _conv(x: np.ndarray, w: np.ndarray, k: int, stride: int, same: bool) -> np.ndarray:
    """2-D convolution of ``x`` (H, W, C) with ``k``×``k`` filters ``w`` flattened to
    (k·k·C, out) in (kh, kw, C) order (see :func:`_flat_filters`).

    The im2col matrix is filled one filter tap at a time, each a strided slice of ``x`` whose
    channels stay contiguous (a sliding-window view copied whole moves one float at a time:
    it was most of the descriptor's cost)."""
    if same:
        p = (k - 1) // 2
        x = np.pad(x, ((p, k - 1 - p), (p, k - 1 - p), (0, 0)))
    h = (x.shape[0] - k) // stride + 1
    wd = (x.shape[1] - k) // stride + 1
    cols = np.empty((h, wd, k, k, x.shape[2]), np.float32)
    for dy in range(k):
        for dx in range(k):
            cols[:, :, dy, dx] = x[dy:dy + stride * (h - 1) + 1:stride,
                                   dx:dx + stride * (wd - 1) + 1:stride]
    return (cols.reshape(h * wd, -1) @ w).reshape(h, wd, w.shape[1])


def _flat_filters(w: np.ndarray) -> np.ndarray:
    """TF-layout filters (kh, kw, C, out) as the (kh·kw·C, out) matrix :func:`_conv` takes."""
    kh, kw, cin, cout = w.shape
    return np.ascontiguousarray(w.reshape(kh * kw * cin, cout))


def _pool(x: np.ndarray, k: int, stride: int, op) -> np.ndarray:
    win = np.lib.stride_tricks.sliding_window_view(x, (k, k), axis=(0, 1))[::stride, ::stride]
    return op(win, axis=(3, 4))


class FaceDescriptor:
    """``descriptor(chip)`` → 128-D float32 vector for a 150×150 RGB uint8 face chip."""

    def __init__(self, weights: dict[str, np.ndarray] | None = None):
        if weights is None:
            weights = _provisioned_weights()
        # conv, bias and the per-channel scale layer folded into one matrix and offset
        self._layers: dict[str, tuple[np.ndarray, np.ndarray, int]] = {}
        for name in {k.rsplit("/conv/filters", 1)[0] for k in weights
                     if k.endswith("/conv/filters")}:
            w, b = weights[f"{name}/conv/filters"], weights[f"{name}/conv/bias"]
            g, h = weights[f"{name}/scale/weights"], weights[f"{name}/scale/biases"]
            self._layers[name] = (_flat_filters(w * g).astype(np.float32),
                                  (b * g + h).astype(np.float32), w.shape[0])
        self._fc = weights["fc"].astype(np.float32)

    def _layer(self, x, name: str, stride: int = 1, relu: bool = True, same: bool = True):
        w, b, k = self._layers[name]
        out = _conv(x, w, k, stride, same)
        out += b
        return np.maximum(out, 0, out=out) if relu else out

    def _residual(self, x, name: str):
        out = self._layer(x, f"{name}/conv1")
        out = self._layer(out, f"{name}/conv2", relu=False)
        return np.maximum(out + x, 0)

    def _residual_down(self, x, name: str):
        out = self._layer(x, f"{name}/conv1", stride=2, same=False)
        out = self._layer(out, f"{name}/conv2", relu=False)
        pooled = _pool(x, 2, 2, np.mean)
        if pooled.shape[:2] != out.shape[:2]:  # pad the convolved map with zeros to match
            grown = np.zeros(pooled.shape[:2] + out.shape[2:], np.float32)
            grown[: out.shape[0], : out.shape[1]] = out
            out = grown
        if pooled.shape[2] != out.shape[2]:  # channels: the shortcut is padded with zeros
            pooled = np.concatenate([pooled, np.zeros_like(pooled)], axis=2)
        return np.maximum(pooled + out, 0)

    def __call__(self, chip: np.ndarray) -> np.ndarray:
        if chip.shape != (CHIP, CHIP, 3):
            raise ValueError(f"a face chip is {CHIP}x{CHIP} RGB, got {chip.shape}")
        x = (chip.astype(np.float32) - _MEAN_RGB) / 255.0
        x = self._layer(x, "conv32_down", stride=2, same=False)
        x = _pool(x, 3, 2, np.max)
        for name in ("conv32_1", "conv32_2", "conv32_3"):
            x = self._residual(x, name)
        x = self._residual_down(x, "conv64_down")
        for name in ("conv64_1", "conv64_2", "conv64_3"):
            x = self._residual(x, name)
        x = self._residual_down(x, "conv128_down")
        for name in ("conv128_1", "conv128_2"):
            x = self._residual(x, name)
        x = self._residual_down(x, "conv256_down")
        for name in ("conv256_1", "conv256_2"):
            x = self._residual(x, name)
        x = self._residual_down(x, "conv256_down_out")
        return (x.mean(axis=(0, 1)) @ self._fc).astype(np.float32)


@lru_cache(maxsize=1)
def shared_descriptor() -> FaceDescriptor:
    """One :class:`FaceDescriptor` per process (it keeps no state; folding the weights costs
    ~20 ms, once)."""
    return FaceDescriptor()


@lru_cache(maxsize=1)
def _provisioned_weights() -> dict[str, np.ndarray]:
    from tells.io.provision import MODELS, ensure

    bin_path, manifest = ensure([MODELS["face_descriptor"], MODELS["face_descriptor_manifest"]],
                                quiet=True)
    return load_weights(bin_path, manifest)


#: mesh points standing in for the 68-point outline face-api's boxes are drawn around: jaw
#: line (ear to ear via the chin) and the tops of the brows
_OUTLINE = (234, 93, 132, 58, 172, 136, 150, 149, 176, 148, 152, 377, 400, 378, 379, 365, 397,
            288, 361, 323, 454, 70, 63, 105, 66, 107, 336, 296, 334, 293, 300)


def face_chip(image: np.ndarray, lm: np.ndarray) -> np.ndarray:
    """The 150×150 RGB model input for a face with mesh ``lm`` (frame pixels) in ``image``.

    Framed like the model's own pipeline (face-api: the box around the 68 landmarks, jaw and
    brows, padded by about a third), with the roll removed so the eyes are level.
    """
    import cv2

    eye_r = lm[list(_R_EYE), :2].mean(axis=0)
    eye_l = lm[list(_L_EYE), :2].mean(axis=0)
    d = eye_l - eye_r
    angle = np.arctan2(d[1], d[0])
    c, si = np.cos(angle), np.sin(angle)
    rot = np.array([[c, si], [-si, c]])  # frame → level face
    pts = lm[list(_OUTLINE), :2] @ rot.T
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    side = max(hi - lo) * (1.0 + PAD)
    centre = (lo + hi) / 2
    s = CHIP / max(side, 1.0)
    m = np.zeros((2, 3))
    m[:, :2] = rot * s
    m[:, 2] = CHIP / 2 - s * centre
    src = image if image.ndim == 3 else cv2.cvtColor(image, cv2.COLOR_GRAY2RGB)
    return cv2.warpAffine(src, m, (CHIP, CHIP), flags=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_CONSTANT)


def distance(a: np.ndarray, b: np.ndarray) -> float:
    """Euclidean distance between two descriptors (dlib's scale: < 0.6 is the same person)."""
    return float(np.linalg.norm(np.asarray(a) - np.asarray(b)))
