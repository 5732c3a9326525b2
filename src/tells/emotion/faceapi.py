"""A second appearance classifier: face-api's expression net (``@vladmandic/face-api``, MIT).

The weights come from the npm package (provisioned by :mod:`tells.io.provision`, nothing runs
in JavaScript); the network is re-implemented here in numpy + OpenCV from its published
architecture:

- input 112×112 RGB, ``(x − mean_rgb) / 255`` with mean_rgb = (122.782, 117.001, 104.298);
- four dense blocks (32, 64, 128, 256 channels). Each block halves the resolution with its
  first conv (a plain 3×3 conv in the first block, a depthwise-separable 3×3 in the others)
  and adds three stride-1 depthwise-separable 3×3 convs, each fed the ReLU of the sum of all
  earlier outputs of the block (a DenseNet-style sum, not a concatenation);
- TF "same" padding (for stride 2 on an even side: no padding before, one pixel after);
- 7×7 average pool → 256 features → fully connected → softmax over 7 classes.

The module reads arrays and returns arrays; it may import numpy, OpenCV, :mod:`tells.face`
(the crop template, the TF.js weight reader of :mod:`tells.face.descriptor`),
:mod:`tells.io.provision` and :mod:`tells.errors`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from tells.errors import ProvisionError
from tells.face.align import crop_template
from tells.face.descriptor import load_weights

#: the network's output order, in face-api's names
FACEAPI_LABELS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]
#: the same classes in tells' names (:data:`tells.contract.EMOTIONS`), in output order
CLASSES = ["neutral", "happiness", "sadness", "anger", "fear", "disgust", "surprise"]
INPUT = 112
MEAN_RGB = np.array([122.782, 117.001, 104.298], np.float32)

#: framing of the aligned-crop input: the square's side in outer eye-corner distances of the
#: crop template and its centre between the eye line (0) and the chin (1). Tight, like a FER
#: crop, measured best (scripts/measure_appearance.py; FER2013-train 700 / posed photos 155:
#: side 1.8 centre 0.1 .573/.413, 2.2/0.1 .556/.361, 2.6/0.1 .471/.316, 1.5/0.1 .491/.419,
#: 1.65/0.2 .561/.406, 1.8/0.3 .546/.381)
SIDE_UNITS = 1.8
CENTRE_DOWN = 0.1

def _pad_same(x: np.ndarray, stride: int) -> tuple[np.ndarray, int, int]:
    """TF 'same' padding of an (H, W, C) map for a 3×3 kernel, and the output size."""
    h, w, c = x.shape
    oh, ow = -(-h // stride), -(-w // stride)
    before_y = max((oh - 1) * stride + 3 - h, 0) // 2
    before_x = max((ow - 1) * stride + 3 - w, 0) // 2
    p = np.zeros(((oh - 1) * stride + 3, (ow - 1) * stride + 3, c), np.float32)
    p[before_y:before_y + h, before_x:before_x + w] = x
    return p, oh, ow


def _taps(x: np.ndarray, stride: int):
    """The nine shifted (H', W', C) views a 3×3 kernel reads, row-major by (dy, dx)."""
    p, oh, ow = _pad_same(x, stride)
    for dy in range(3):
        for dx in range(3):
            yield p[dy:dy + stride * oh:stride, dx:dx + stride * ow:stride]


def _conv3x3(x: np.ndarray, filters: np.ndarray, bias: np.ndarray, stride: int) -> np.ndarray:
    """Full 3×3 conv (filters HWIO) by im2col and one matrix product."""
    cols = np.concatenate(list(_taps(x, stride)), axis=2)  # (H', W', 9·Cin), (dy, dx, c) order
    oh, ow, k = cols.shape
    out = cols.reshape(oh * ow, k) @ filters.reshape(k, -1) + bias
    return out.reshape(oh, ow, -1)


#: maps of at least this many pixels take the depthwise conv from OpenCV (one filter2D per
#: channel); smaller ones from nine shifted numpy views (less overhead per channel)
CV_MIN_PIXELS = 28 * 28


def _depthwise_planes(x: np.ndarray, dw: np.ndarray, stride: int) -> np.ndarray:
    """Depthwise 3×3 'same' conv of an (H, W, C) map as (C, H', W') planes, by OpenCV."""
    h, w, c = x.shape
    planes = np.ascontiguousarray(x.transpose(2, 0, 1))
    out = np.empty_like(planes)
    for k in range(c):  # correlation with zeros outside: 'same' at stride 1
        cv2.filter2D(planes[k], -1, dw[:, :, k], dst=out[k], borderType=cv2.BORDER_CONSTANT)
    if stride == 1:
        return out
    # output i of the strided conv is centred on input stride·i + 1 − (padding before)
    oh, ow = -(-h // stride), -(-w // stride)
    by = max((oh - 1) * stride + 3 - h, 0) // 2
    bx = max((ow - 1) * stride + 3 - w, 0) // 2
    return out[:, 1 - by::stride, 1 - bx::stride][:, :oh, :ow]


def _separable(x: np.ndarray, conv: dict[str, np.ndarray], stride: int) -> np.ndarray:
    """Depthwise 3×3 (with stride) then pointwise 1×1, plus bias."""
    dw = conv["depthwise_filter"][:, :, :, 0]  # (3, 3, C)
    pw = conv["pointwise_filter"][0, 0]  # (C, C')
    if x.shape[0] * x.shape[1] >= CV_MIN_PIXELS:
        planes = _depthwise_planes(x, dw, stride)
        c, oh, ow = planes.shape
        out = (pw.T @ planes.reshape(c, oh * ow)).T + conv["bias"]
        return out.reshape(oh, ow, -1)
    acc = tmp = None
    for k, tap in enumerate(_taps(x, stride)):
        if acc is None:
            acc = tap * dw[0, 0]
            tmp = np.empty_like(acc)
        else:
            np.multiply(tap, dw[k // 3, k % 3], out=tmp)
            acc += tmp
    oh, ow, c = acc.shape
    out = acc.reshape(oh * ow, c) @ pw + conv["bias"]
    return out.reshape(oh, ow, -1)


def _dense_block(x: np.ndarray, block: dict[str, dict[str, np.ndarray]], first: bool
                 ) -> np.ndarray:
    if first:
        c0 = block["conv0"]
        out = _conv3x3(x, c0["filters"], c0["bias"], 2)
    else:
        out = _separable(x, block["conv0"], 2)
    total = np.maximum(out, 0.0)  # out1
    for name in ("conv1", "conv2", "conv3"):
        total = total + _separable(np.maximum(total, 0.0), block[name], 1)
    return np.maximum(total, 0.0)


class FaceApiExpression:
    """face-api's expression net on one face at a time (numpy + OpenCV on one core, about
    15 ms CPU per face; fer's CNN takes under 1 ms).

    Parameters
    ----------
    weights, manifest : the weight shard and its TF.js manifest; default: the provisioned
        ``face_expression`` and ``face_expression_manifest`` models
        (:func:`tells.io.provision.ensure`, checked against their SHA-256).

    Raises
    ------
    ProvisionError if the model is missing, unreadable or not the expected network.
    """

    def __init__(self, weights: str | Path | None = None, manifest: str | Path | None = None):
        if weights is None or manifest is None:
            from tells.io.provision import MODELS, ensure

            weights, manifest = ensure([MODELS["face_expression"],
                                        MODELS["face_expression_manifest"]], quiet=True)
        try:
            flat = load_weights(Path(weights), Path(manifest))
            self._blocks: list[dict[str, dict[str, np.ndarray]]] = []
            for b in range(4):
                block: dict[str, dict[str, np.ndarray]] = {}
                for c in range(4):
                    prefix = f"dense{b}/conv{c}/"
                    block[f"conv{c}"] = {k[len(prefix):]: v for k, v in flat.items()
                                         if k.startswith(prefix)}
                self._blocks.append(block)
            self._fc_w, self._fc_b = flat["fc/weights"], flat["fc/bias"]
            self._check()
        except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
            raise ProvisionError(f"the face-api expression model is unusable ({exc}); run "
                                 f"'tells models fetch'") from None

    def _check(self) -> None:
        x = np.zeros((INPUT, INPUT, 3), np.float32)
        if self.logits(x).shape != (len(CLASSES),):
            raise ValueError("output is not 7 classes")

    def logits(self, x: np.ndarray) -> np.ndarray:
        """Pre-softmax scores for a prepared (112, 112, 3) float32 input (:func:`net_input`)."""
        out = np.asarray(x, np.float32)
        for i, block in enumerate(self._blocks):
            out = _dense_block(out, block, first=i == 0)
        feat = out.mean(axis=(0, 1))  # 7×7 average pool on the 7×7 map
        return feat @ self._fc_w + self._fc_b

    def run_input(self, x: np.ndarray) -> np.ndarray:
        """Probabilities over :data:`CLASSES` for a prepared (112, 112, 3) input."""
        z = self.logits(x).astype(np.float64)
        e = np.exp(z - z.max())
        return e / e.sum()

    def mirrored(self, x: np.ndarray) -> np.ndarray:
        """Mean of the probabilities for a prepared input and its mirror image (as
        :meth:`tells.emotion.cnn.EmotionCNN.mirrored`; twice the cost)."""
        return 0.5 * (self.run_input(x) + self.run_input(np.ascontiguousarray(x[:, ::-1])))

    def __call__(self, rgb_face: np.ndarray) -> np.ndarray:
        """Probabilities over :data:`CLASSES` for a face image already framed as face-api
        frames it (RGB or gray uint8, any size; non-square images are zero-padded)."""
        return self.run_input(net_input(rgb_face))


def net_input(face: np.ndarray) -> np.ndarray:
    """(112, 112, 3) float32 network input from a framed face (RGB or gray uint8): centred
    zero padding to a square as face-api does, bilinear resize, mean subtraction, /255."""
    rgb = cv2.cvtColor(face, cv2.COLOR_GRAY2RGB) if face.ndim == 2 else face[..., :3]
    h, w = rgb.shape[:2]
    if h != w:
        d = abs(h - w)
        a = int(round(d * 0.5))
        pads = ((d - a, a), (0, 0)) if w > h else ((0, 0), (d - a, a))
        rgb = np.pad(rgb, (*pads, (0, 0)))
    if rgb.shape[0] != INPUT:
        interp = cv2.INTER_AREA if rgb.shape[0] > INPUT else cv2.INTER_LINEAR
        rgb = cv2.resize(rgb, (INPUT, INPUT), interpolation=interp)
    return (rgb.astype(np.float32) - MEAN_RGB) / 255.0


@lru_cache(maxsize=4)
def _crop_matrix(crop_size: int) -> np.ndarray:
    tpl = crop_template(crop_size)
    eyes = 0.5 * (tpl[33] + tpl[263])
    unit = float(np.linalg.norm(tpl[263] - tpl[33]))
    centre = eyes + CENTRE_DOWN * (tpl[152] - eyes)
    s = INPUT / (SIDE_UNITS * unit)
    return np.array([[s, 0.0, INPUT / 2 - s * centre[0]], [0.0, s, INPUT / 2 - s * centre[1]]])


def crop_input(crop: np.ndarray) -> np.ndarray:
    """(112, 112, 3) network input from tells' aligned face crop
    (:attr:`tells.face.FaceObservation.crop`, RGB for stills or gray from the video luma; gray
    is replicated to three channels): face-api framing (:data:`SIDE_UNITS`,
    :data:`CENTRE_DOWN`), the crop's border replicated where the face leaves it."""
    rgb = cv2.cvtColor(crop, cv2.COLOR_GRAY2RGB) if crop.ndim == 2 else crop[..., :3]
    face = cv2.warpAffine(rgb, _crop_matrix(rgb.shape[0]), (INPUT, INPUT),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return (face.astype(np.float32) - MEAN_RGB) / 255.0


def box_input(rgb: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
    """(112, 112, 3) network input from a plain face box (x, y, w, h) with no alignment, like
    :func:`tells.emotion.cnn.bare_input`: the box made square about its centre (the image
    border replicated outside it); ``box=None`` takes the whole image."""
    rgb = cv2.cvtColor(rgb, cv2.COLOR_GRAY2RGB) if rgb.ndim == 2 else rgb[..., :3]
    if box is not None:
        x, y, w, h = box
        s = int(round(max(w, h)))
        x0, y0 = int(round(x + w / 2 - s / 2)), int(round(y + h / 2 - s / 2))
        pad = max(0, -x0, -y0, x0 + s - rgb.shape[1], y0 + s - rgb.shape[0])
        if pad:
            rgb = cv2.copyMakeBorder(rgb, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x0, y0 = x0 + pad, y0 + pad
        rgb = rgb[y0:y0 + s, x0:x0 + s]
    return net_input(rgb)


@lru_cache(maxsize=1)
def shared_faceapi() -> FaceApiExpression:
    """One network per process."""
    return FaceApiExpression()
