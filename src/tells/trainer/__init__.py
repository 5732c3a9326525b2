"""Micro-expression recognition trainer.

Owns the training side of tells: stimulus items and packs (:mod:`.packs`, validated by
:mod:`.validate`, made by :mod:`.sources`), the emotion lesson content (:mod:`.emotions`), the
database of trainees, sessions and answers with its migrations (:mod:`.db`), session logic with
the adaptive flash-duration staircase and scoring (:mod:`.staircase`, :mod:`.session`), and the
local web app (:mod:`.server` with ``static/``). It may import ``tells.io``, ``tells.face``
(through :func:`tells.analyze_image`) and ``tells.facs``; nothing in the analysis layers
imports it.

Micro-expressions are cues to an emotion, not proof of deception: training improves
recognising flashed expressions, and studies found it does not improve detecting lies.
"""

from __future__ import annotations

TRAINER_NOTE = (
    "Training improves how well you recognise brief expressions. It does not make you a lie "
    "detector: a micro-expression is a cue to an emotion, not proof of deception."
)
