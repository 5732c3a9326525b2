"""The posing studio: a person poses the seven expressions for the camera (or a recording made
following the studio's script) and the studio turns the takes into a pack of their own faces.

The script (:func:`script`) is a neutral stretch, then for each emotion a relaxed pause and a
hold while the person shows it, guided by FACS instructions (:data:`INSTRUCTIONS`). Frame by
frame the studio reads the action units against the person's neutral face (mesh geometry and
skin motion, :func:`tells.facs.aus.intensities`) and gives live feedback ("inner brows
rising: AU1 at A, more", :func:`feedback`). At the end of each hold it keeps the apex (the
frame where the emotion's EMFACS prototype scores highest, :mod:`tells.facs.prototypes`) and
the clip from the relaxed face to just after the apex. :func:`add_takes` checks each take (the
same person as the neutral, the two images registering, and the prototype's units shown) and
adds a still pair and a video clip per emotion to a pack, with the poser's consent recorded on
every item; a take whose units fall short waits for review, one of another person is left out.

Memory stays bounded: only the current step's frames are held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from tells.errors import InputError
from tells.trainer.emotions import EMOTIONS, check_emotion

#: the studio asks for each emotion with these action units and words (subject's right ``R``)
INSTRUCTIONS: dict[str, list[tuple[str, str]]] = {
    "anger": [("AU04", "lower your brows and pull them together"),
              ("AU05", "stare: lift your upper lids"),
              ("AU07", "tense your lower lids"),
              ("AU23", "tighten your lips into a thin line")],
    "contempt": [("AU12", "lift one corner of your mouth only"),
                 ("AU14", "and tighten that corner into a dimple")],
    "disgust": [("AU09", "wrinkle your nose"),
                ("AU10", "raise your upper lip"),
                ("AU15", "pull your lip corners down")],
    "fear": [("AU01", "raise your brows"), ("AU04", "and draw them together"),
             ("AU05", "open your eyes wide"), ("AU20", "stretch your lips sideways"),
             ("AU26", "let your jaw drop")],
    "happiness": [("AU12", "smile: pull your lip corners up"),
                  ("AU06", "and raise your cheeks until the eyes narrow")],
    "sadness": [("AU01", "raise the inner ends of your brows"),
                ("AU04", "draw them together"),
                ("AU15", "pull your lip corners down")],
    "surprise": [("AU01", "raise your brows high"), ("AU02", "the outer ends too"),
                 ("AU05", "open your eyes wide"), ("AU26", "let your jaw drop")],
}
#: what the live feedback calls each unit while it moves
MOVING: dict[int, str] = {
    1: "inner brows rising", 2: "outer brows rising", 4: "brows lowering",
    5: "upper lids rising", 6: "cheeks rising", 7: "lower lids tightening",
    9: "nose wrinkling", 10: "upper lip rising", 12: "lip corner pulling up",
    14: "lip corner tightening", 15: "lip corners pulling down", 20: "lips stretching",
    23: "lips tightening", 26: "jaw dropping",
}
#: the intensity a posed unit should reach (C, marked)
TARGET = 3.0
#: smallest prototype score (0..1) of an accepted take; below it the take waits for review
MIN_SCORE = 0.35
#: a clip starts this long before the prompt (the relaxed face) and ends this long after the apex
CLIP_BEFORE_S = 0.3
CLIP_AFTER_S = 0.5


@dataclass(frozen=True)
class Step:
    """One step of the script: ``emotion`` (None: the neutral face) held from ``start_s`` for
    ``hold_s`` seconds."""

    emotion: str | None
    start_s: float
    hold_s: float

    @property
    def end_s(self) -> float:
        return self.start_s + self.hold_s


def script(emotions: Iterable[str] = EMOTIONS, neutral_s: float = 3.0, relax_s: float = 2.0,
           hold_s: float = 3.0) -> list[Step]:
    """The studio's schedule: a neutral face for ``neutral_s``, then per emotion a relaxed
    pause of ``relax_s`` and the emotion held for ``hold_s``."""
    if min(neutral_s, hold_s) <= 0 or relax_s < CLIP_BEFORE_S:
        raise InputError(f"script times must be positive, the pause at least {CLIP_BEFORE_S} s")
    steps = [Step(None, 0.0, neutral_s)]
    t = neutral_s
    for e in emotions:
        steps.append(Step(check_emotion(e), t + relax_s, hold_s))
        t += relax_s + hold_s
    return steps


def instruction(emotion: str) -> str:
    """The prompt for ``emotion``: what to move, with the action units."""
    parts = [f"{text} ({key.removeprefix('AU').lstrip('0')})"
             for key, text in INSTRUCTIONS[emotion]]
    return f"show {emotion}: " + "; ".join(parts)


def _letter(v: float) -> str:
    return "–" if v < 0.5 else "ABCDE"[min(4, int(round(v)) - 1)] if v >= 1 else "A"


def _side_value(aus: dict[str, float], key: str) -> float:
    num = int(key[2:4])
    if num in (12, 14):  # one side is enough (contempt is one-sided)
        return max(aus.get(f"{key}L", 0.0), aus.get(f"{key}R", 0.0), aus.get(key, 0.0))
    return aus.get(key, 0.0)


def feedback(emotion: str, aus: dict[str, float]) -> str:
    """Live feedback on the units ``emotion`` asks for, e.g. ``"inner brows rising: AU1 at A,
    more · brows lowering: AU4 at C, good"``."""
    out = []
    for key, _text in INSTRUCTIONS[emotion]:
        v = _side_value(aus, key)
        num = int(key[2:4])
        out.append(f"{MOVING.get(num, key)}: AU{num} at {_letter(v)}, "
                   f"{'good' if v >= TARGET else 'more'}")
    return " · ".join(out)


def take_score(emotion: str, aus: dict[str, float]) -> float:
    """How well a face shows ``emotion``'s prototype (0..1, :mod:`tells.facs.prototypes`)."""
    from tells.facs.prototypes import contempt_score, prototype_scores

    return contempt_score(aus) if emotion == "contempt" else prototype_scores(aus)[emotion]


@dataclass
class Take:
    """The studio's capture of one emotion."""

    emotion: str
    neutral: np.ndarray
    apex: np.ndarray
    #: ``(t, rgb)`` from the relaxed face before the prompt to just after the apex
    clip: list[tuple[float, np.ndarray]]
    apex_index: int
    score: float
    aus: dict[str, float] = field(default_factory=dict)
    problem: str = ""


class Studio:
    """Feed it frames (``.t`` seconds, ``.image`` RGB) in order; it follows the script, says
    prompts and feedback through ``say``, and collects a :class:`Take` per emotion.

    Parameters
    ----------
    steps : the schedule (:func:`script`).
    say : where prompts and feedback go (a line each).
    feedback_every_s : how often feedback is given during a hold.
    """

    def __init__(self, steps: list[Step], say: Callable[[str], None] = print,
                 feedback_every_s: float = 0.5):
        self.steps, self.say, self.every = steps, say, feedback_every_s
        self.takes: list[Take] = []
        self._step = -1
        self._neutral: list[tuple[np.ndarray, np.ndarray, object]] = []  # (measure, rgb, obs)
        self._base = None  # (measurement, gray crop, rgb) of the chosen neutral frame
        self._buf: list[tuple[float, np.ndarray, dict | None]] = []
        self._last_fb = -1e9
        self._t0: float | None = None
        self._closed: set[int] = set()

    # ------------------------------------------------------------------------------------
    def _observe(self, image: np.ndarray):
        from tells.config import Settings
        from tells.face.still import find_faces
        from tells.face.track import observe
        from tells.facs.features import measure

        faces = find_faces(image, max_faces=3)
        if not faces:
            return None
        lm = max(faces, key=lambda f: np.ptp(f[0][:, 0]) * np.ptp(f[0][:, 1]))[0]
        obs = observe(0, 0, 0.0, image, lm, 1.0, Settings())
        return measure(obs.aligned, obs.crop, obs.pose[1]), obs

    def _aus(self, got) -> dict[str, float] | None:
        from tells.facs.aus import intensities
        from tells.facs.motion import crop_points, gray, motion_evidence

        if got is None or self._base is None:
            return None
        x, obs = got
        base_x, base_gray, _ = self._base
        ev = motion_evidence(base_gray, gray(obs.crop), crop_points(obs.landmarks,
                                                                    obs.crop_matrix))
        return intensities(x, base_x, ev)

    def _enter(self, k: int) -> None:
        st = self.steps[k]
        if st.emotion is None:
            self.say(f"[{st.start_s:5.1f} s] relax and look at the camera: a neutral face "
                     f"for {st.hold_s:g} s")
        else:
            self.say(f"[{st.start_s:5.1f} s] {instruction(st.emotion)} — hold {st.hold_s:g} s")

    def _close_neutral(self) -> None:
        from tells.facs.motion import gray

        if not self._neutral:
            raise InputError("no face in the neutral part of the recording; start facing the "
                             "camera with a relaxed face")
        xs = np.array([x for x, _, _ in self._neutral])
        med = np.median(xs, axis=0)
        i = int(np.argmin(np.abs(xs - med).sum(axis=1)))
        x, rgb, obs = self._neutral[i]
        self._base = (x, gray(obs.crop), rgb)
        self._neutral = []
        self.say("  neutral face captured")

    def _close_take(self, st: Step) -> None:
        hold = [(i, t, aus) for i, (t, _img, aus) in enumerate(self._buf)
                if t >= st.start_s and aus is not None]
        if not hold:
            self.say(f"  {st.emotion}: no face during the hold; skipped")
            self._buf = []
            return
        scores = [take_score(st.emotion, aus) for _i, _t, aus in hold]
        j = int(np.argmax(scores))
        i, t_apex, aus = hold[j]
        clip = [(t, img) for t, img, _a in self._buf if t <= t_apex + CLIP_AFTER_S]
        self.takes.append(Take(st.emotion, self._base[2], self._buf[i][1], clip, i,
                               float(scores[j]), dict(aus)))
        self.say(f"  {st.emotion} captured at {t_apex:.1f} s: {feedback(st.emotion, aus)} "
                 f"(prototype {scores[j]:.2f})")
        self._buf = []

    def feed(self, t: float, image: np.ndarray) -> None:
        """One frame at ``t`` seconds (from the start of the recording or the session)."""
        if self._t0 is None:
            self._t0 = t
        t = t - self._t0
        # the next step begins (an emotion's clip a little before its prompt's hold)
        while self._step + 1 < len(self.steps):
            nxt = self.steps[self._step + 1]
            if t < nxt.start_s - (CLIP_BEFORE_S if nxt.emotion else 0.0):
                break
            self._close(self._step)
            self._step += 1
            self._enter(self._step)
        if self._step < 0:
            return
        st = self.steps[self._step]
        if t > st.end_s:
            self._close(self._step)
            return
        if st.emotion is None:
            got = self._observe(image)
            if got is not None:
                self._neutral.append((got[0], image, got[1]))
            return
        aus = self._aus(self._observe(image)) if t >= st.start_s else None
        self._buf.append((t, image, aus))
        if aus is not None and t - self._last_fb >= self.every:
            self._last_fb = t
            self.say(f"  {feedback(st.emotion, aus)}")

    def _close(self, k: int) -> None:
        if k < 0 or k in self._closed:
            return
        self._closed.add(k)
        if self.steps[k].emotion is None:
            self._close_neutral()
        else:
            self._close_take(self.steps[k])

    def finish(self) -> list[Take]:
        """Close the step under way and return the takes."""
        if self._step < 0 or (self._step == 0 and not self._neutral and self._base is None):
            raise InputError("the recording ended before the studio's script began")
        self._close(self._step)
        return self.takes


def run(frames: Iterable, steps: list[Step], say: Callable[[str], None] = print) -> list[Take]:
    """Run the studio over ``frames`` (objects with ``.t`` and ``.image``, e.g. a video
    source) until the script ends or the frames do."""
    studio = Studio(steps, say)
    end = steps[-1].end_s
    for fr in frames:
        studio.feed(float(fr.t), fr.image)
        if studio._t0 is not None and float(fr.t) - studio._t0 > end:
            break
    return studio.finish()


def add_takes(takes: list[Take], pack_name: str, *, poser: str, consent: str,
              library: str | Path | None = None, replace: bool = False, analyze=None):
    """Add each take as a still pair and a video clip to a new pack ``pack_name``.

    Every item records the poser and their consent. A take is checked like any pair (same
    person as the neutral face, registered) and by its prototype score: at least
    :data:`MIN_SCORE` is accepted, less waits for review; a take that fails the pair check is
    left out with the reason.
    """
    from tells.trainer.clips import add_clip
    from tells.trainer.packs import Problem, add_item, finish_pack, new_pack
    from tells.trainer.sources import intensities_to_facs
    from tells.trainer.validate import prepare_pair

    poser, consent = (poser or "").strip(), (consent or "").strip()
    if not poser or not consent:
        raise InputError("the studio records the poser's consent: give --poser NAME and "
                         "--consent 'what they agreed to, and when'")
    if not takes:
        raise InputError("the studio captured no expression")
    pack = new_pack(library, pack_name, "studio", replace=replace)
    key = "studio:" + hashlib.sha256(poser.encode()).hexdigest()[:12]
    when = datetime.now(UTC).isoformat(timespec="seconds")
    for tk in takes:
        where = f"{tk.emotion} take"
        wanted = {k for k, _ in INSTRUCTIONS[tk.emotion]}
        shown = {k: v for k, v in tk.aus.items() if k[:4] in wanted and v >= 1.0}
        aus = intensities_to_facs(shown) or "?"
        status = "accepted" if tk.score >= MIN_SCORE else "pending"
        origin = {"poser": poser, "consent": consent, "recorded": when,
                  "prototype_score": round(tk.score, 3)}
        if status == "pending":
            origin["review"] = (f"the {tk.emotion} prototype scored {tk.score:.2f} "
                                f"(< {MIN_SCORE:g}): check the take shows it")
        try:
            pair = prepare_pair(tk.neutral, tk.apex, name=where, analyze=analyze)
            add_item(pack, "s" + hashlib.sha256(f"{key}/{tk.emotion}/still".encode())
                     .hexdigest()[:10], pair, emotion=tk.emotion, aus=aus, aus_source="studio",
                     face_key=key, status=status, origin=origin)
            add_clip(pack, tk.clip, tk.apex_index, name=where, emotion=tk.emotion, aus=aus,
                     aus_source="studio", face_key=key, status=status, origin=origin,
                     analyze=analyze, item_id="s" + hashlib.sha256(
                         f"{key}/{tk.emotion}/clip".encode()).hexdigest()[:10])
        except InputError as exc:
            pack.problems.append(Problem(where, str(exc).removeprefix(f"{where}: ")))
    return finish_pack(pack, "the studio made no usable item")


__all__ = ["INSTRUCTIONS", "MIN_SCORE", "Step", "Studio", "Take", "add_takes", "feedback",
           "instruction", "run", "script", "take_score"]
