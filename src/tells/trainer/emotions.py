"""The seven emotions a trainee learns: answer keys, EMFACS prototype action units, the lesson
text (what moves in the face) and where each action unit shows on the 478-point face mesh.

Plain data and small parsers only; no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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

#: FACS intensity letters to the 0..5 scale OpenFace uses
LETTER_INTENSITY = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0}

#: EMFACS prototypes (DESIGN.md), in FACS notation; a missing letter means "at the chosen
#: intensity"
PROTOTYPES: dict[str, str] = {
    "happiness": "6+12",
    "sadness": "1+4+15",
    "surprise": "1+2+5B+26",
    "fear": "1+2+4+5+7+20+26",
    "anger": "4+5+7+23",
    "disgust": "9+15+16",
    "contempt": "R12A+R14A",
}

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


@dataclass(frozen=True)
class ActionUnit:
    """One action unit of a FACS code such as ``R12A``."""

    au: int
    side: str = ""  #: "", "L" or "R"
    letter: str = ""  #: "" or A..E

    @property
    def code(self) -> str:
        return f"{self.side}{self.au}{self.letter}"

    def intensity(self, default: float = 3.0) -> float:
        """Intensity on 0..5: the letter's, or ``default`` when the code has no letter."""
        return LETTER_INTENSITY.get(self.letter, default)

    @property
    def name(self) -> str:
        return AU_NAMES.get(self.au, f"action unit {self.au}")


_AU_RE = re.compile(r"^(?:AU)?([LR]?)(\d{1,2})([A-E]?)$", re.IGNORECASE)


def parse_aus(text: str) -> list[ActionUnit]:
    """Parse a FACS code like ``"1+2+5B+26"``, ``"R12A+R14A"`` or ``"AU04+AU07"``.

    Unparseable parts (``"?"``, free text in annotation sheets) are skipped.

    Examples
    --------
    >>> [a.code for a in parse_aus("R12A+R14A")]
    ['R12A', 'R14A']
    """
    out: list[ActionUnit] = []
    for part in re.split(r"[+,;\s]+", str(text or "").strip()):
        m = _AU_RE.match(part.strip())
        if m:
            out.append(ActionUnit(int(m.group(2)), m.group(1).upper(), m.group(3).upper()))
    return out


def format_aus(aus: list[ActionUnit]) -> str:
    return "+".join(a.code for a in aus)


def prototype_intensities(emotion: str, intensity: float = 3.0) -> dict[str, float]:
    """Action-unit intensities (0..5) that show ``emotion``, keyed like the per-frame table
    (``"AU12"``, unilateral ``"AU12R"``), for driving a face warp.

    Parameters
    ----------
    emotion : str
        One of :data:`EMOTIONS`.
    intensity : float
        Intensity for action units whose prototype gives no letter; lettered ones (``5B``,
        ``R12A``) scale with ``intensity / 3`` so "marked" (3) keeps the prototype as written.
    """
    if emotion not in PROTOTYPES:
        raise ValueError(f"unknown emotion {emotion!r}; expected one of {', '.join(EMOTIONS)}")
    out: dict[str, float] = {}
    for a in parse_aus(PROTOTYPES[emotion]):
        value = intensity if not a.letter else a.intensity() * intensity / 3.0
        out[f"AU{a.au:02d}{a.side}"] = float(min(5.0, max(0.0, value)))
    return out


def au_marks(aus_text: str, landmarks_xy, width: int, height: int) -> list[dict]:
    """Marks to draw on a face: one per action unit with the points (as fractions of the image
    size) where it shows and the direction the skin moves.

    ``landmarks_xy`` holds the 478 mesh points in pixels (``(478, >=2)``); unilateral units mark
    only their side (R = the person's right, which is image left in a photo).
    """
    marks: list[dict] = []
    for a in parse_aus(aus_text):
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
