"""EMFACS emotion prototypes scored from action-unit intensities.

Each emotion's score (0..1) is a weighted sum of its action units' evidence, where an action
unit's evidence is its intensity over 3 (C, marked) capped at 1. Contempt, the one one-sided
expression, is scored from the *difference* between the left and right lip corner puller and
dimpler (R12A+R14A), so a symmetric smile does not count.
"""

from __future__ import annotations

#: EMFACS prototypes (DESIGN.md) as weights over action-unit evidence; ``|`` = the strongest
#: of alternatives
PROTOTYPES: dict[str, dict[str, float]] = {
    "happiness": {"AU12": 0.75, "AU06": 0.25},                                  # 6+12
    "sadness": {"AU01": 0.35, "AU04": 0.2, "AU15": 0.45},                      # 1+4+15
    "surprise": {"AU01": 0.2, "AU02": 0.25, "AU05": 0.25, "AU26|AU25": 0.3},   # 1+2+5B+26
    "fear": {"AU01": 0.15, "AU02": 0.1, "AU04": 0.2, "AU05": 0.2, "AU07": 0.05,
             "AU20": 0.2, "AU26|AU25": 0.1},                                   # 1+2+4+5+7+20+26
    "anger": {"AU04": 0.45, "AU05|AU07": 0.2, "AU23|AU24|AU17": 0.35},         # 4+5+7+23
    "disgust": {"AU09|AU10": 0.6, "AU15|AU17": 0.4},                           # 9+15+16, 10+17
}
#: contempt: one-sided lip corner (R12A+R14A); evidence of asymmetry (12 plus half of 14)
#: reaches 1 at this intensity difference
CONTEMPT_FULL = 3.0
#: emotions an action unit speaks against (weight of the penalty on the score)
AGAINST: dict[str, dict[str, float]] = {
    "sadness": {"AU12": 0.6}, "anger": {"AU12": 0.6, "AU01": 0.3, "AU09": 0.4, "AU15": 0.2},
    # surprise widens the eyes and drops the jaw; a tightened lower lid (7) or lips stretched
    # sideways (20) with raised brows is fear's prototype, not surprise's
    "surprise": {"AU04": 0.4, "AU07": 0.25, "AU20": 0.25},
    "disgust": {"AU12": 0.4}, "happiness": {"AU15": 0.5},
}


def _evidence(aus: dict[str, float], key: str) -> float:
    return max(min(1.0, aus.get(k, 0.0) / 3.0) for k in key.split("|"))


def contempt_score(aus: dict[str, float]) -> float:
    """R12A+R14A: one lip corner pulled up (12) and tightened (14) more than the other; the
    raised side must show at least a trace of 12, and a symmetric smile scores nothing."""
    l12, r12 = aus.get("AU12L", 0.0), aus.get("AU12R", 0.0)
    l14, r14 = aus.get("AU14L", 0.0), aus.get("AU14R", 0.0)
    hi12, lo12, hi14, lo14 = (l12, r12, l14, r14) if l12 >= r12 else (r12, l12, r14, l14)
    asym = (hi12 - lo12) + 0.5 * (hi14 - lo14)
    score = asym / CONTEMPT_FULL * min(1.0, hi12 / 2.0) - lo12 / 3.0
    # inner brows raised or lowered belong to sadness, anger or fear, not to a smirk
    score -= 0.3 * (min(1.0, aus.get("AU01", 0.0) / 3.0) + min(1.0, aus.get("AU04", 0.0) / 3.0))
    return _unit(score)


def _unit(x: float) -> float:
    """``float(np.clip(x, 0, 1))`` for a float, without numpy's per-call cost (NaN stays NaN)."""
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else float(x)


def prototype_scores(aus: dict[str, float]) -> dict[str, float]:
    """EMFACS scores 0..1 for the seven emotions from one face's action units.

    Parameters
    ----------
    aus : intensities 0..5 keyed ``AU01`` … ``AU45``, ``AU12L/R``, ``AU14L/R``.

    Examples
    --------
    >>> s = prototype_scores({"AU06": 3.0, "AU12": 3.0, "AU12L": 3.0, "AU12R": 3.0})
    >>> max(s, key=s.get)
    'happiness'
    """
    get = aus.get
    out = {}
    for emo, weights, against in _PLAN:
        score = _total(weights, get)
        if against:  # (subtracting an empty sum, the integer 0, changes no float)
            score -= _total(against, get)
        out[emo] = _unit(score)
    out["contempt"] = contempt_score(aus)
    return out


def _total(terms: tuple[tuple[float, tuple[str, ...]], ...], get) -> float:
    """``sum(w * _evidence(aus, k) ...)`` over a table's :func:`_terms` (``get``:
    ``aus.get``): the same terms in the same order, without splitting the keys and calling
    :func:`_evidence` per term on every frame."""
    return sum([w * (min(1.0, get(keys[0], 0.0) / 3.0) if len(keys) == 1
                     else max([min(1.0, get(k, 0.0) / 3.0) for k in keys]))
                for w, keys in terms])


def _terms(weights: dict[str, float]) -> tuple[tuple[float, tuple[str, ...]], ...]:
    """``(weight, alternative action units)`` of a table of :data:`PROTOTYPES` or
    :data:`AGAINST`, in its order (what :func:`_evidence` splits ``key`` into)."""
    return tuple((w, tuple(k.split("|"))) for k, w in weights.items())


#: :func:`prototype_scores`' plan: (emotion, its terms, the terms against it)
_PLAN = tuple((emo, _terms(weights), _terms(AGAINST.get(emo, {})))
              for emo, weights in PROTOTYPES.items())


#: EMFACS prototypes in FACS notation (DESIGN.md); disgust has variants 9+17 and 10+17
EMFACS_CODES: dict[str, str] = {
    "happiness": "6+12",
    "sadness": "1+4+15",
    "surprise": "1+2+5B+26",
    "fear": "1+2+4+5+7+20+26",
    "anger": "4+5+7+23",
    "disgust": "9+15+16",
    "contempt": "R12A+R14A",
}


def prototype_request(emotion: str, intensity: float) -> dict[str, float]:
    """Every action unit of ``emotion``'s EMFACS prototype at one ``intensity`` (0..5), keyed
    like the per-frame table (``AU05``, ``AU12R``) — what a face warp needs to show it."""
    from tells.facs.synth import parse_aus

    if emotion not in EMFACS_CODES:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMFACS_CODES)}")
    return {k: float(intensity) for k in parse_aus(EMFACS_CODES[emotion])}
