"""The appearance emotion classifier: fer's mini-Xception (FER2013, MIT) run with LiteRT.

The network saw 48×48 gray face crops (scaled to 64×64) framed from the brows to the chin.
:func:`fer_input` cuts that framing out of the aligned face crop (roll and scale removed; the
crop's replicated border pads faces at the image edge), so tight crops and full photos are
treated alike.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from tells.face.align import crop_template

#: the network's classes, in tells' names, in its output order
CNN_CLASSES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise", "neutral"]
INPUT = 64
#: side of the FER-style square, in outer eye-corner distances, and its centre between the
#: eye line and the chin (0 = eye line, 1 = chin)
SIDE_UNITS = 1.7
CENTRE_DOWN = 0.35
#: the centre for single photos: 0.2 measured better there (FER2013 training crops .673 vs
#: .620 at 0.35, the posed development photos .497 vs .464; docs/DATA.md), while the labelled
#: frames of the sample video read better at 0.35
CENTRE_DOWN_STILL = 0.2


@lru_cache(maxsize=8)
def _fer_matrix(crop_size: int, centre_down: float = CENTRE_DOWN) -> np.ndarray:
    tpl = crop_template(crop_size)
    eyes = 0.5 * (tpl[33] + tpl[263])
    unit = float(np.linalg.norm(tpl[263] - tpl[33]))
    centre = eyes + centre_down * (tpl[152] - eyes)
    side = SIDE_UNITS * unit
    s = INPUT / side
    return np.array([[s, 0.0, INPUT / 2 - s * centre[0]], [0.0, s, INPUT / 2 - s * centre[1]]])


def fer_input(crop: np.ndarray, centre_down: float = CENTRE_DOWN) -> np.ndarray:
    """(64, 64) float32 network input from an aligned face crop (RGB or gray uint8):
    FER framing, gray, ``(x/255 − 0.5) × 2``."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    face = cv2.warpAffine(gray, _fer_matrix(gray.shape[0], centre_down), (INPUT, INPUT),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return (face.astype(np.float32) / 255.0 - 0.5) * 2.0


class EmotionCNN:
    """The mini-Xception on one face at a time (single thread, about 0.4 ms).

    Parameters
    ----------
    model_path : the tflite file; default :func:`tells.io.provision.model_path`
        ``("emotion_cnn_tflite")``.
    """

    def __init__(self, model_path: str | None = None):
        from ai_edge_litert.interpreter import Interpreter

        if model_path is None:
            from tells.io.provision import model_path as provisioned

            model_path = str(provisioned("emotion_cnn_tflite", quiet=True))
        self._interp = Interpreter(model_path=str(model_path), num_threads=1)
        self._interp.allocate_tensors()
        inp = self._interp.get_input_details()[0]
        self._in, self._shape, self._dtype = inp["index"], inp["shape"], inp["dtype"]
        self._out = self._interp.get_output_details()[0]["index"]

    def __call__(self, crop: np.ndarray) -> np.ndarray:
        """Probabilities over :data:`CNN_CLASSES` for one aligned face crop."""
        return self.run_input(fer_input(crop))

    def run_input(self, x: np.ndarray) -> np.ndarray:
        """Probabilities over :data:`CNN_CLASSES` for a prepared (64, 64) network input."""
        x = x.reshape(self._shape).astype(self._dtype)
        self._interp.set_tensor(self._in, x)
        self._interp.invoke()
        p = np.asarray(self._interp.get_tensor(self._out), dtype=np.float64).reshape(-1)
        p = np.clip(p, 0.0, None)
        return p / p.sum() if p.sum() > 0 else np.full(len(CNN_CLASSES), 1 / len(CNN_CLASSES))


    def mirrored(self, x: np.ndarray) -> np.ndarray:
        """Mean of the probabilities for a network input and its mirror image (a face's
        expression reads the same flipped; averaging the two steadies a single image)."""
        return 0.5 * (self.run_input(x) + self.run_input(np.ascontiguousarray(x[:, ::-1])))


@lru_cache(maxsize=1)
def shared_cnn() -> EmotionCNN:
    """One classifier per process (for single images)."""
    return EmotionCNN()


#: tight crops at most this many pixels on a side are taken whole by :func:`bare_cnn`
TIGHT_CROP_PX = 100


def bare_input(rgb: np.ndarray, box: tuple[float, float, float, float] | None) -> np.ndarray:
    """(64, 64) network input the way a plain FER pipeline feeds the CNN: the detector's face
    box made square, gray, resized, with no alignment; ``box=None`` takes the whole image."""
    gray = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY) if rgb.ndim == 3 else rgb
    if box is not None:
        x, y, w, h = box
        side = max(w, h)
        cx, cy = x + w / 2, y + h / 2
        x0, y0 = int(round(cx - side / 2)), int(round(cy - side / 2))
        s = int(round(side))
        pad = max(0, -x0, -y0, x0 + s - gray.shape[1], y0 + s - gray.shape[0])
        if pad:
            gray = cv2.copyMakeBorder(gray, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
            x0, y0 = x0 + pad, y0 + pad
        gray = gray[y0:y0 + s, x0:x0 + s]
    face = cv2.resize(gray, (INPUT, INPUT), interpolation=cv2.INTER_AREA)
    return (face.astype(np.float32) / 255.0 - 0.5) * 2.0


def bare_cnn(rgb: np.ndarray) -> np.ndarray:
    """The reference line of the evaluations: the CNN alone on the largest detected face's
    box (or the whole image for a tight crop of at most :data:`TIGHT_CROP_PX` or when no face
    is detected), probabilities over :data:`CNN_CLASSES`."""
    from tells.face.still import detector

    box = None
    if max(rgb.shape[:2]) > TIGHT_CROP_PX:
        found = detector()(rgb)
        if found:
            d = max(found, key=lambda d: d.w * d.h)
            box = (d.x, d.y, d.w, d.h)
    return shared_cnn().run_input(bare_input(rgb, box))
