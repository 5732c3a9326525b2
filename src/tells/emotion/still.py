"""Emotion probabilities of a face in a single image (no temporal smoothing).

A single image has no neutral face of the same person, so the action units are read against
the population's neutral, which is weak evidence: they take a small weight
(:data:`STILL_AU_WEIGHT`). The CNN sees the face and its mirror image. A tight face crop (at
most :data:`tells.emotion.cnn.TIGHT_CROP_PX` on a side, or one the detector finds only once
padded: a dataset crop such as FER2013's, framed the way the CNN was trained) is given to the
CNN as it is rather than re-aligned (:func:`tells.api.analyze_image` decides), and its action
units are left out of the emotion unless the head is turned past :data:`TURNED_RAD`.
"""

from __future__ import annotations

import numpy as np

from tells.contract import EMOTIONS
from tells.emotion.cnn import CENTRE_DOWN_STILL, bare_input, fer_input, shared_cnn
from tells.emotion.fusion import fuse, pose_weight
from tells.facs.prototypes import prototype_scores

#: weight of the population-neutral action units in a single photo's fusion, measured on the
#: development photos (docs/DATA.md; posed photos, 181: accuracy .525 at 0 and at 0.3, with
#: disgust recall .08 → .27; .376 at the old 0.45)
STILL_AU_WEIGHT = 0.3
#: a tight crop's head turned further than this (the pipeline's pose limit) reads its action
#: units too
TURNED_RAD = 0.6


def image_emotions(crop: np.ndarray | None, aus: dict[str, float],
                   yaw: float = 0.0, whole: np.ndarray | None = None) -> dict[str, float]:
    """Eight probabilities (``anger`` … ``neutral``, summing to 1) for one face.

    Parameters
    ----------
    crop : aligned face crop (:attr:`FaceObservation.crop`), or ``None`` for action units only.
    aus : action-unit intensities (:func:`tells.facs.stage.image_aus`).
    yaw : head yaw in radians (turned faces lean on the action units).
    whole : a tight face crop (a dataset crop) to give the CNN as it is (instead of ``crop``).
    """
    cnn = shared_cnn()
    if whole is not None:
        probs = cnn.mirrored(bare_input(whole, None))
    elif crop is not None:
        probs = cnn.mirrored(fer_input(crop, CENTRE_DOWN_STILL))
    else:
        probs = None
    if whole is not None and probs is not None and abs(yaw) <= TURNED_RAD:
        # a dataset crop against the population's neutral: on FER2013 training crops any
        # weight on the action units cost accuracy, so the CNN alone (a head turned past the
        # CNN's frontal range still leans on the action units)
        p = fuse(probs, {}, 0.0)
    else:
        p = fuse(probs, prototype_scores(aus), pose_weight(STILL_AU_WEIGHT, yaw))
    return {e: float(v) for e, v in zip(EMOTIONS, p, strict=True)}
