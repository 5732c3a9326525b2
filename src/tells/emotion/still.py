"""Emotion probabilities of a face in a single image (no temporal smoothing)."""

from __future__ import annotations

import numpy as np

from tells.contract import EMOTIONS
from tells.emotion.cnn import shared_cnn
from tells.emotion.fusion import AU_WEIGHT, fuse, pose_weight
from tells.facs.prototypes import prototype_scores


def image_emotions(crop: np.ndarray | None, aus: dict[str, float],
                   yaw: float = 0.0) -> dict[str, float]:
    """Eight probabilities (``anger`` … ``neutral``, summing to 1) for one face.

    Parameters
    ----------
    crop : aligned face crop (:attr:`FaceObservation.crop`), or ``None`` for action units only.
    aus : action-unit intensities (:func:`tells.facs.stage.image_aus`).
    yaw : head yaw in radians (turned faces lean on the action units).
    """
    cnn = shared_cnn()(crop) if crop is not None else None
    p = fuse(cnn, prototype_scores(aus), pose_weight(AU_WEIGHT, yaw))
    return {e: float(v) for e, v in zip(EMOTIONS, p, strict=True)}
