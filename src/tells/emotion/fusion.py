"""Fusing the appearance CNN with the EMFACS action-unit scores into eight probabilities.

The CNN knows six emotions and neutral, not contempt. Contempt takes, in proportion to its
action-unit evidence, the CNN mass that a one-sided smirk usually lands on (neutral,
happiness, disgust). The result is a weighted mixture of that 8-way CNN distribution and the
action-unit distribution (prototype scores, with neutral = little evidence for anything).
"""

from __future__ import annotations

import numpy as np

from tells.contract import EMOTIONS
from tells.emotion.cnn import CNN_CLASSES

#: weight of the action-unit distribution in the mixture: in video the action units are read
#: against the person's own neutral, which is stronger evidence than the CNN's (it reads a
#: face that looks sad at rest as sad); in a single image against the population's
AU_WEIGHT = 0.45
AU_WEIGHT_VIDEO = 0.5
#: sharpness of the action-unit distribution
AU_TEMPERATURE = 0.15
#: CNN classes a contempt face tends to be read as
CONTEMPT_DONORS = ("neutral", "happiness", "disgust")

_CNN_TO_OUT = np.array([EMOTIONS.index(c) for c in CNN_CLASSES])


def au_distribution(scores: dict[str, float]) -> np.ndarray:
    """Probabilities over :data:`EMOTIONS` from EMFACS scores (softmax; neutral scores high
    when no emotion has evidence)."""
    s = np.array([scores.get(e, 0.0) for e in EMOTIONS[:-1]])
    neutral = max(0.0, 0.5 - s.max())
    z = np.append(s, neutral) / AU_TEMPERATURE
    z = np.exp(z - z.max())
    return z / z.sum()


def pose_weight(au_weight: float, yaw: float) -> float:
    """The action-unit weight for a head turned by ``yaw`` radians: the mesh geometry is
    pose-normalised, the CNN (trained on frontal faces) is not, so beyond 0.25 rad the action
    units take over, up to 0.85 at 0.6 rad."""
    k = float(np.clip((abs(yaw) - 0.25) / 0.35, 0.0, 1.0))
    return au_weight + (max(au_weight, 0.85) - au_weight) * k


def fuse(cnn: np.ndarray | None, scores: dict[str, float],
         au_weight: float = AU_WEIGHT) -> np.ndarray:
    """Eight probabilities (:data:`EMOTIONS` order, summing to 1).

    Parameters
    ----------
    cnn : CNN probabilities over :data:`tells.emotion.cnn.CNN_CLASSES`, or ``None`` (no
        appearance: action units alone).
    scores : :func:`tells.facs.prototypes.prototype_scores` of the same face.
    au_weight : weight of the action-unit distribution, 0..1.
    """
    au = au_distribution(scores)
    if cnn is None:
        return au
    p = np.zeros(len(EMOTIONS))
    p[_CNN_TO_OUT] = cnn
    c = scores.get("contempt", 0.0)
    if c > 0:
        donors = [EMOTIONS.index(d) for d in CONTEMPT_DONORS]
        moved = p[donors] * c
        p[donors] -= moved
        p[EMOTIONS.index("contempt")] += moved.sum()
    out = (1.0 - au_weight) * p + au_weight * au
    return out / out.sum()
