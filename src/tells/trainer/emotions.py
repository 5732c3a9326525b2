"""The seven emotions a trainee learns: answer keys, the lesson text (what moves in the face),
the action units' names and where each shows on the 478-point face mesh.

The EMFACS prototypes and the FACS-code grammar live in the FACS layer
(:data:`tells.facs.prototypes.EMFACS_CODES`, :func:`tells.facs.synth.parse_aus`); this module
adds what a trainee sees: names, lessons and marks drawn on a face.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tells.errors import InputError
from tells.facs.prototypes import EMFACS_CODES
from tells.facs.synth import LETTERS
from tells.facs.synth import parse_aus as parse_facs

#: answer order; key ``1`` answers the first emotion
EMOTIONS: tuple[str, ...] = (
    "anger",
    "contempt",
    "disgust",
    "fear",
    "happiness",
    "sadness",
    "surprise",
)

AU_NAMES: dict[int, str] = {
    1: "inner brow raiser",
    2: "outer brow raiser",
    4: "brow lowerer",
    5: "upper lid raiser",
    6: "cheek raiser",
    7: "lid tightener",
    9: "nose wrinkler",
    10: "upper lip raiser",
    12: "lip corner puller",
    14: "dimpler",
    15: "lip corner depressor",
    16: "lower lip depressor",
    17: "chin raiser",
    20: "lip stretcher",
    23: "lip tightener",
    24: "lip pressor",
    25: "lips part",
    26: "jaw drop",
    45: "blink",
}

#: face-mesh landmarks where each action unit shows (subject's right first), and the
#: direction the skin moves, for drawing marks on a face
AU_LANDMARKS: dict[int, tuple[tuple[int, ...], str]] = {
    1: ((107, 336), "up"),
    2: ((70, 300), "up"),
    4: ((9,), "down"),
    5: ((159, 386), "up"),
    6: ((50, 280), "up"),
    7: ((145, 374), "up"),
    9: ((197,), "up"),
    10: ((37, 267), "up"),
    12: ((61, 291), "up"),
    14: ((61, 291), "in"),
    15: ((61, 291), "down"),
    16: ((84, 314), "down"),
    17: ((200,), "up"),
    20: ((61, 291), "out"),
    23: ((0, 17), "together"),
    24: ((0, 17), "together"),
    25: ((13,), "down"),
    26: ((152,), "down"),
}

LESSONS: dict[str, str] = {
    "anger": (
        "The brows lower and pull together (AU4). The upper lids lift into a hard stare (AU5) "
        "while the lower lids tense (AU7), and the lips tighten and narrow (AU23). In a flash "
        "the stare and the pressed lips are often all you catch."
    ),
    "contempt": (
        "One lip corner only tightens and lifts a little (R12A+R14A). It is the only "
        "one-sided expression, slight by nature, and easily taken for a smirk or missed."
    ),
    "disgust": (
        "The nose wrinkles (AU9) and the upper lip rises with it; the lip corners may pull "
        "down (AU15) and the lower lip push down (AU16). Look between the eyes and the mouth."
    ),
    "fear": (
        "The brows rise and pull together (AU1+2+4), flatter than in surprise; the upper lids "
        "lift (AU5) and the lower lids tense (AU7); the lips stretch back towards the ears "
        "(AU20) and the jaw may drop (AU26)."
    ),
    "happiness": (
        "The lip corners pull up and back (AU12) and the cheeks rise, bunching the skin under "
        "the eyes into crow's feet (AU6). A smile without AU6 is often a polite one."
    ),
    "sadness": (
        "The inner ends of the brows rise and draw together (AU1+4), slanting the brows; the "
        "lip corners pull down (AU15). The raised inner brow is hard to produce on purpose."
    ),
    "surprise": (
        "The brows rise in a curve (AU1+2), the upper lids lift to show white above the iris "
        "(AU5B) and the jaw drops with relaxed lips (AU26). It is often the briefest emotion "
        "and easily confused with fear."
    ),
}


def check_emotion(emotion: str) -> str:
    """``emotion`` lower-cased if it is one of the seven, else one clear :class:`InputError`."""
    e = str(emotion).strip().lower()
    if e not in EMOTIONS:
        raise InputError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}")
    return e


def prototype_code(emotion: str) -> str:
    """The EMFACS prototype of ``emotion`` in FACS notation, e.g. ``"6+12"``."""
    return EMFACS_CODES[check_emotion(emotion)]


@dataclass(frozen=True)
class ActionUnit:
    """One action unit of a FACS code such as ``R12A``, as a trainee reads it."""

    au: int
    side: str = ""  #: "", "L" or "R"
    letter: str = ""  #: "" or A..E

    @property
    def code(self) -> str:
        return f"{self.side}{self.au}{self.letter}"

    @property
    def name(self) -> str:
        return AU_NAMES.get(self.au, f"action unit {self.au}")


_LETTER_OF = {v: k for k, v in LETTERS.items()}


def action_units(text: str) -> list[ActionUnit]:
    """The action units of a FACS code (``"1+2+5B+26"``, ``"R12A+R14A"``, ``"AU04+AU07"``) in
    the order written, each read by :func:`tells.facs.synth.parse_aus`.

    Parts that cannot be read (``"?"``, free text in annotation sheets, action units the FACS
    layer does not know) are skipped: the code only labels and marks a stimulus.

    Examples
    --------
    >>> [a.code for a in action_units("R12A+R14A")]
    ['R12A', 'R14A']
    """
    out: list[ActionUnit] = []
    for part in re.split(r"[+,;\s]+", str(text or "").strip()):
        try:
            # default 0: a part without an intensity letter comes back as 0.0
            ((key, value),) = parse_facs(part, default=0.0).items()
        except (InputError, ValueError):
            continue
        side = key[-1] if key[-1] in "LR" else ""
        out.append(ActionUnit(int(key[2:4]), side, _LETTER_OF.get(value, "")))
    return out


def au_marks(aus_text: str, landmarks_xy, width: int, height: int) -> list[dict]:
    """Marks to draw on a face: one per action unit with the points (as fractions of the image
    size) where it shows and the direction the skin moves.

    ``landmarks_xy`` holds the 478 mesh points in pixels (``(478, >=2)``); unilateral units mark
    only their side (R = the person's right, which is image left in a photo).
    """
    marks: list[dict] = []
    for a in action_units(aus_text):
        if a.au not in AU_LANDMARKS:
            continue
        idx, direction = AU_LANDMARKS[a.au]
        if a.side == "R":
            idx = idx[:1]
        elif a.side == "L" and len(idx) > 1:
            idx = idx[1:]
        pts = [
            [round(float(landmarks_xy[i][0]) / width, 4), round(float(landmarks_xy[i][1]) / height, 4)]
            for i in idx
        ]
        marks.append({"au": a.code, "name": a.name, "points": pts, "direction": direction})
    return marks
