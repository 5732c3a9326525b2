"""Naming a spotted expression from what changed in this person's face between its onset and
its apex.

Three kinds of evidence, all relative to the same face a moment before, so a face that looks
sad or stern at rest does not make every flash sad or angry:

- the **rise of the appearance CNN's probabilities** from the onset to the apex (and, with a
  smaller weight, their level at the apex);
- the **EMFACS prototype scores of the action-unit changes** (apex − onset);
- the **shape change**: where the mesh moved from just before the onset to the apex, read by
  the linear shape model (:mod:`tells.emotion.shape`) as if it had happened on the
  population's neutral face (its probabilities over the six emotions it knows);
- for contempt, the **one-sided lip-corner change**: FACS codes contempt as unilateral AU14
  (dimpler, the corner tightened and pulled in), with or without unilateral AU12; on real faces
  the corner tightens more than it rises, so AU14's asymmetry counts as much as AU12's.

Each emotion's score is a weighted sum of its evidence plus a per-emotion offset; the weights
(:data:`DEFAULT`) are a handful of numbers chosen by measurement on the development set
described in ``docs/DATA.md`` (``scripts/fit_event_emotion.py`` re-runs the fit). The
probability returned is a softmax share of the scores, not a calibrated probability.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tells.emotion.cnn import CNN_CLASSES
from tells.emotion.shape import shared_shape_model
from tells.facs.prototypes import prototype_scores

#: expressive units other than the lip corners (12, 14): present in disgust, anger, sadness…
OTHER_UNITS = ["AU01", "AU02", "AU04", "AU05", "AU07", "AU09", "AU10", "AU15", "AU17", "AU20",
               "AU23", "AU24"]
#: the emotions an event can be named (neutral is not an event's emotion)
EVENT_EMOTIONS = ["anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]
#: the emotions the shape model knows (it has no contempt)
SHAPE_EMOTIONS = [e for e in EVENT_EMOTIONS if e != "contempt"]


@dataclass(frozen=True)
class EventWeights:
    """Weights of the evidence in an event's emotion score. The defaults are the fitted ones:
    ``scripts/fit_event_emotion.py fit`` on 609 flash clips (0.2 and 0.4 s) of 26 real people,
    plus warp-made contempt flashes (docs/DATA.md), the search started from rise 1, apex 0.5,
    proto 0.5, shape 1 (``fit --start``); fitted on one half of the people it scored accuracy
    .677 and .659 on the other half (mean recall .663 and .653), against .652 and .617 for the
    weights before the shape evidence."""

    rise: float = 2.0  # CNN probability rise, onset → apex
    apex: float = 0.0  # CNN probability at the apex
    proto: float = 1.0  # EMFACS prototype score of the AU changes
    #: shape model's log-probability of the mesh change (centred over its six emotions)
    shape: float = 0.75
    contempt: float = 1.0  # one-sided lip-corner evidence
    #: AU14 asymmetry counts this much relative to AU12's in the contempt evidence
    dimpler: float = 1.0
    #: contempt evidence reaches 1 at this left–right difference (intensity units)
    contempt_full: float = 1.0
    #: contempt is the lip corner alone: the strongest change of another expressive unit (at
    #: C, 3) takes this much from its score (real disgust and anger are lopsided too)
    purity: float = 1.0
    temperature: float = 0.15
    offsets: dict[str, float] = field(default_factory=lambda: {
        "anger": -0.05, "contempt": -0.15, "fear": -0.3, "happiness": -0.3, "sadness": -0.15,
        "surprise": 0.05, "disgust": 0.3})
    #: per-emotion factor on the prototype weight (some emotions' units are read better than
    #: the CNN sees them)
    proto_factor: dict[str, float] = field(default_factory=lambda: {
        "anger": 1.5, "fear": 3.0, "surprise": 2.0, "happiness": 0.5, "disgust": 2.0})


DEFAULT = EventWeights()


def one_sided(delta: dict[str, float], dimpler: float = 1.0, full: float = 2.0) -> float:
    """0..1 evidence of a one-sided lip corner (contempt) from AU changes keyed ``AU12L``,
    ``AU12R``, ``AU14L``, ``AU14R``: the larger side's rise over the other side's, the dimpler
    weighted by ``dimpler``; a symmetric smile scores nothing."""
    l12, r12 = delta.get("AU12L", 0.0), delta.get("AU12R", 0.0)
    l14, r14 = delta.get("AU14L", 0.0), delta.get("AU14R", 0.0)
    left = max(0.0, l12 - r12) + dimpler * max(0.0, l14 - r14)
    right = max(0.0, r12 - l12) + dimpler * max(0.0, r14 - l14)
    # both corners pulling (a smile) take away from the one-sided reading
    both = min(max(l12, 0.0), max(r12, 0.0))
    return float(np.clip((max(left, right) - 0.5 * both) / full, 0.0, 1.0))


def event_scores(delta: dict[str, float], cnn_onset: np.ndarray | None,
                 cnn_apex: np.ndarray | None, w: EventWeights = DEFAULT,
                 shape_change: np.ndarray | None = None) -> np.ndarray:
    """Scores over :data:`EVENT_EMOTIONS` (higher = more likely)."""
    proto = prototype_scores(delta)
    score = np.array([w.proto * w.proto_factor.get(e, 1.0) * proto.get(e, 0.0)
                      for e in EVENT_EMOTIONS])
    if shape_change is not None and w.shape:
        p = shared_shape_model().change_probs(shape_change, SHAPE_EMOTIONS)
        lp = np.log(np.maximum(p, 1e-6))
        lp -= lp.mean()  # relative evidence: no pull towards or away from contempt
        for e, v in zip(SHAPE_EMOTIONS, lp, strict=True):
            score[EVENT_EMOTIONS.index(e)] += w.shape * float(v)
    if cnn_apex is not None:
        on = cnn_apex if cnn_onset is None else cnn_onset
        for i, e in enumerate(EVENT_EMOTIONS):
            if e in CNN_CLASSES:
                k = CNN_CLASSES.index(e)
                score[i] += w.rise * max(0.0, float(cnn_apex[k] - on[k])) + w.apex * float(cnn_apex[k])
    c = EVENT_EMOTIONS.index("contempt")
    others = max(max(0.0, delta.get(k, 0.0)) for k in OTHER_UNITS)
    score[c] = (w.contempt * one_sided(delta, w.dimpler, w.contempt_full)
                - w.purity * min(1.0, others / 3.0))
    score += np.array([w.offsets.get(e, 0.0) for e in EVENT_EMOTIONS])
    return score


def name_event(delta: dict[str, float], cnn_onset: np.ndarray | None = None,
               cnn_apex: np.ndarray | None = None, w: EventWeights = DEFAULT,
               shape_change: np.ndarray | None = None) -> tuple[str, float]:
    """``(emotion, share)`` for one event.

    Parameters
    ----------
    delta : action-unit change apex − onset (``AU01`` … and ``AU12L/R``, ``AU14L/R``).
    cnn_onset, cnn_apex : the CNN's probabilities over :data:`tells.emotion.cnn.CNN_CLASSES`
        just before the onset and at the apex, or ``None`` when no appearance was recorded.
    shape_change : the shape model's projections at the apex minus just before the onset
        (:meth:`tells.emotion.shape.ShapeModel.project`), or ``None``.

    Examples
    --------
    >>> name_event({"AU14R": 1.5, "AU12R": 0.6})[0]
    'contempt'
    """
    s = event_scores(delta, cnn_onset, cnn_apex, w, shape_change)
    z = np.exp((s - s.max()) / w.temperature)
    p = z / z.sum()
    k = int(np.argmax(s))
    return EVENT_EMOTIONS[k], float(p[k])
