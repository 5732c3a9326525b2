"""Training sessions: the plan (pre-test, lessons, practice, post-test), answering, and the
score report and progress history.

A session's plan is fixed at its start and stored with it; the practice flash duration is not
in the plan but follows the staircase replayed from the stored practice answers, so a session
can be resumed after a restart. A video-clip item plays at true speed: its trial's duration is
the clip's. Everything a browser sends is checked here.
"""

from __future__ import annotations

import csv
import io
import random
import statistics
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tells import DISCLAIMER
from tells.errors import InputError, OutputError
from tells.trainer import TRAINER_NOTE
from tells.trainer.db import Answer, Trainee, TrainingSession, utcnow
from tells.trainer.emotions import EMOTIONS, LESSONS, action_units
from tells.trainer.packs import Item, find_item, load_items
from tells.trainer.staircase import LEVELS_MS, Staircase

PHASES = ("pretest", "practice", "posttest")


@dataclass(frozen=True)
class SessionConfig:
    """What a session contains. The defaults give the full session (about 20 minutes)."""

    emotions: tuple[str, ...] = EMOTIONS
    #: pre-test and post-test items per emotion
    test_items_per_emotion: int = 2
    #: practice trials per emotion
    practice_per_emotion: int = 4
    #: flash duration in the pre- and post-test (ms)
    test_ms: float = 200.0
    #: neutral face shown before the flash (ms)
    neutral_before_ms: float = 800.0
    lessons: bool = True
    #: restrict to these packs (empty: all packs in the library)
    packs: tuple[str, ...] = ()
    seed: int | None = None

    @classmethod
    def from_dict(cls, d: dict | None) -> SessionConfig:
        d = dict(d or {})
        known = {k: v for k, v in d.items() if k in cls.__dataclass_fields__}
        for k in ("emotions", "packs"):
            if k in known:
                known[k] = tuple(known[k])
        cfg = cls(**known)
        bad = [e for e in cfg.emotions if e not in EMOTIONS]
        if bad or not cfg.emotions:
            raise InputError(f"unknown emotion(s) {bad}; choose from {', '.join(EMOTIONS)}")
        if not (1 <= cfg.test_ms <= 5000):
            raise InputError("test_ms must be between 1 and 5000")
        if cfg.test_items_per_emotion < 0 or cfg.practice_per_emotion < 0:
            raise InputError("item counts must not be negative")
        return cfg

    def to_dict(self) -> dict:
        d = asdict(self)
        d["emotions"] = list(self.emotions)
        d["packs"] = list(self.packs)
        return d


@dataclass
class Plan:
    steps: list[dict]
    notes: list[str] = field(default_factory=list)


def build_plan(items: list[Item], cfg: SessionConfig, seen_faces: set[str] | None = None,
               rng: random.Random | None = None) -> Plan:
    """Choose the items of each phase.

    Test items prefer faces the trainee has not seen in earlier sessions, and the post-test
    prefers faces not used in the pre-test; when the library is too small for that, faces are
    reused and the plan says so in ``notes``.
    """
    rng = rng or random.Random(cfg.seed)
    seen = set(seen_faces or ())
    by_emotion: dict[str, list[Item]] = defaultdict(list)
    for it in items:
        by_emotion[it.emotion].append(it)
    notes: list[str] = []
    pre, post, practice, lessons = [], [], [], []
    k = cfg.test_items_per_emotion
    for emo in cfg.emotions:
        pool = list(by_emotion.get(emo, []))
        if not pool:
            notes.append(f"no items for {emo}: it is left out of this session")
            continue
        rng.shuffle(pool)
        pool.sort(key=lambda it: it.face_key in seen)  # unseen faces first (stable sort)
        pre_items = pool[:k]
        rest = pool[k:]
        pre_faces = {it.face_key for it in pre_items}
        rest.sort(key=lambda it: (it.face_key in pre_faces, it.face_key in seen))
        post_items = rest[:k]
        if len(post_items) < k:
            reuse = k - len(post_items)
            post_items += [pre_items[i % len(pre_items)] for i in range(reuse)]
            notes.append(f"{emo}: post-test reuses {reuse} pre-test item(s); add items for a fairer post-test")
        elif k and any(it.face_key in pre_faces for it in post_items):
            notes.append(f"{emo}: post-test shows a face also seen in the pre-test")
        test_keys = {it.key for it in pre_items + post_items}
        prac_pool = [it for it in pool if it.key not in {p.key for p in post_items}] or pool
        prac_pool.sort(key=lambda it: it.key in test_keys)
        for i in range(cfg.practice_per_emotion):
            practice.append(prac_pool[i % len(prac_pool)])
        pre += pre_items
        post += post_items
        lessons.append((emo, prac_pool[0]))
    for lst in (pre, practice, post):
        rng.shuffle(lst)
    steps: list[dict] = []
    steps += [_trial("pretest", it) for it in pre]
    if cfg.lessons:
        steps += [{"kind": "lesson", "emotion": e, "item": it.key} for e, it in lessons]
    steps += [_trial("practice", it) for it in practice]
    steps += [_trial("posttest", it) for it in post]
    return Plan(steps, notes)


def _trial(phase: str, it: Item) -> dict:
    return {"kind": "trial", "phase": phase, "item": it.key, "emotion": it.emotion,
            "face_key": it.face_key}


def item_json(it: Item, with_marks: bool) -> dict:
    d = {
        "key": it.key,
        "neutral": f"/media/{it.key}/neutral.png",
        "expression": f"/media/{it.key}/expression.png",
    }
    if it.clip:
        d["clip"] = {"frames": [f"/media/{it.key}/clip/f{k:03d}.jpg"
                                for k in range(len(it.clip["t_ms"]))],
                     "t_ms": list(it.clip["t_ms"])}
    if with_marks:
        d.update(emotion=it.emotion, aus=it.aus, aus_source=it.aus_source, marks=it.marks)
    return d


class Trainer:
    """Session logic over a database engine and a stimulus library (no HTTP here)."""

    def __init__(self, engine: Engine, library: str | Path | None = None,
                 defaults: SessionConfig | None = None):
        self.engine = engine
        self.library = library
        self.defaults = defaults or SessionConfig()

    # trainees -----------------------------------------------------------------------------
    def trainees(self) -> list[dict]:
        with Session(self.engine) as db:
            rows = db.scalars(select(Trainee).order_by(Trainee.name)).all()
            return [{"id": t.id, "name": t.name, "sessions": len(t.sessions)} for t in rows]

    def _trainee(self, db: Session, name: str) -> Trainee:
        name = (name or "").strip()
        if not name or len(name) > 120:
            raise InputError("enter a trainee name (1 to 120 characters)")
        t = db.scalar(select(Trainee).where(Trainee.name == name))
        if t is None:
            t = Trainee(name=name)
            db.add(t)
            db.flush()
        return t

    # sessions -----------------------------------------------------------------------------
    def start(self, trainee: str, overrides: dict | None = None,
              frame_period_ms: float | None = None) -> int:
        cfg = SessionConfig.from_dict({**self.defaults.to_dict(), **(overrides or {})})
        items = load_items(self.library, list(cfg.packs) or None)
        if not items:
            raise InputError(
                "the stimulus library has no accepted items; build a pack first "
                "('tells train pack build FOLDER') or accept reviewed items"
            )
        with Session(self.engine) as db:
            t = self._trainee(db, trainee)
            seen = set(db.scalars(
                select(Answer.face_key).join(TrainingSession).where(TrainingSession.trainee_id == t.id)
            ).all())
            plan = build_plan(items, cfg, seen)
            if not any(s["kind"] == "trial" for s in plan.steps):
                raise InputError("no items for the chosen emotions; add items or choose others")
            s = TrainingSession(trainee_id=t.id, config={**cfg.to_dict(), "notes": plan.notes},
                                plan=plan.steps, position=0,
                                frame_period_ms=_num(frame_period_ms))
            db.add(s)
            db.commit()
            return s.id

    def _session(self, db: Session, sid: int) -> TrainingSession:
        s = db.get(TrainingSession, int(sid))
        if s is None:
            raise InputError(f"no session {sid}")
        return s

    def step(self, sid: int) -> dict:
        """The step the trainee is at: a trial, a lesson, or the end (with the report)."""
        with Session(self.engine) as db:
            s = self._session(db, sid)
            return self._step(db, s)

    def _step(self, db: Session, s: TrainingSession) -> dict:
        cfg = SessionConfig.from_dict(s.config)
        n_trials = sum(1 for st in s.plan if st["kind"] == "trial")
        done = sum(1 for st in s.plan[: s.position] if st["kind"] == "trial")
        base = {"session": s.id, "index": s.position, "trials_done": done, "trials_total": n_trials}
        if s.position >= len(s.plan):
            return {**base, "kind": "report", "report": self._report(s)}
        st = s.plan[s.position]
        it = find_item(self.library, st["item"])
        if it is None:
            raise InputError(f"item {st['item']} is no longer in the library")
        if st["kind"] == "lesson":
            emo = st["emotion"]
            return {**base, "kind": "lesson", "emotion": emo, "text": LESSONS[emo],
                    "aus": it.aus, "aus_named": [[a.code, a.name] for a in action_units(it.aus)],
                    "item": item_json(it, True)}
        set_ms = cfg.test_ms
        if it.clip:  # a clip plays at true speed, whatever the phase
            set_ms = round(it.clip_ms, 2)
        elif st["phase"] == "practice":
            prac = [a.correct for a in s.answers if a.phase == "practice"]
            set_ms = Staircase.replay(prac).current_ms
        return {**base, "kind": "trial", "phase": st["phase"], "set_ms": set_ms,
                "neutral_before_ms": cfg.neutral_before_ms, "feedback": st["phase"] == "practice",
                "item": item_json(it, False)}

    def lesson_done(self, sid: int, index: int) -> dict:
        with Session(self.engine) as db:
            s = self._session(db, sid)
            if int(index) == s.position and s.position < len(s.plan) and s.plan[s.position]["kind"] == "lesson":
                s.position += 1
                db.commit()
            return self._step(db, s)

    def answer(self, sid: int, index: int, answer: str, *, measured_ms=None, measured_frames=None,
               frame_period_ms=None, reaction_ms=None, input_method: str = "key",
               flash_attempts: int = 1) -> dict:
        """Store an answer to the trial at ``index`` and return feedback and the next step.

        An answer for a step that is not the current trial (a double submit) is ignored and the
        current step is returned unchanged.
        """
        if answer not in EMOTIONS:
            raise InputError(f"answer must be one of {', '.join(EMOTIONS)}")
        with Session(self.engine) as db:
            s = self._session(db, sid)
            if int(index) != s.position or s.position >= len(s.plan) or s.plan[s.position]["kind"] != "trial":
                return {"stale": True, "next": self._step(db, s)}
            st = s.plan[s.position]
            current = self._step(db, s)
            correct = answer == st["emotion"]
            db.add(Answer(
                session_id=s.id, trial_index=s.position, phase=st["phase"], item_key=st["item"],
                face_key=st["face_key"], emotion=st["emotion"], answer=answer, correct=correct,
                set_ms=current["set_ms"], measured_ms=_num(measured_ms),
                measured_frames=None if measured_frames is None else int(measured_frames),
                frame_period_ms=_num(frame_period_ms), reaction_ms=_num(reaction_ms),
                input_method="click" if input_method == "click" else "key",
                flash_attempts=max(1, int(_num(flash_attempts) or 1)),
            ))
            s.position += 1
            if s.position >= len(s.plan):
                s.finished_at = utcnow()
            db.commit()
            db.refresh(s)
            out: dict = {"correct": correct, "answer": answer}
            if st["phase"] == "practice":  # immediate feedback only in practice
                it = find_item(self.library, st["item"])
                out.update(truth=st["emotion"], item=item_json(it, True) if it else None)
            out["next"] = self._step(db, s)
            return out

    # reports ------------------------------------------------------------------------------
    def report(self, sid: int) -> dict:
        with Session(self.engine) as db:
            return self._report(self._session(db, sid))

    def _report(self, s: TrainingSession) -> dict:
        return score(s.answers, s.config, meta={
            "session": s.id, "trainee": s.trainee.name, "started_at": _iso(s.started_at),
            "finished_at": _iso(s.finished_at), "complete": s.position >= len(s.plan),
            "frame_period_ms": s.frame_period_ms})

    def progress(self, trainee_id: int | None = None) -> list[dict]:
        """Each trainee's sessions with their headline scores, oldest first."""
        with Session(self.engine) as db:
            q = select(Trainee).order_by(Trainee.name)
            if trainee_id is not None:
                q = q.where(Trainee.id == int(trainee_id))
            out = []
            for t in db.scalars(q).all():
                hist = []
                for s in sorted(t.sessions, key=lambda s: s.id):
                    r = self._report(s)
                    hist.append({k: r[k] for k in ("session", "started_at", "complete",
                                                    "pretest_accuracy", "posttest_accuracy",
                                                    "practice_accuracy", "mastered_ms",
                                                    "answers")})
                out.append({"id": t.id, "name": t.name, "sessions": hist})
            return out

    def export_csv(self, out: str | Path | None = None) -> str:
        """All answers as CSV (one row per answer); written to ``out`` when given."""
        cols = ["trainee", "session", "trial_index", "phase", "item", "emotion", "answer",
                "correct", "set_ms", "measured_ms", "measured_frames", "frame_period_ms",
                "reaction_ms", "flash_attempts", "input", "answered_at"]
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        with Session(self.engine) as db:
            rows = db.execute(
                select(Answer, Trainee.name).join(TrainingSession, Answer.session_id == TrainingSession.id)
                .join(Trainee).order_by(Answer.session_id, Answer.trial_index)
            ).all()
            for a, name in rows:
                w.writerow([name, a.session_id, a.trial_index, a.phase, a.item_key, a.emotion,
                            a.answer, int(a.correct), a.set_ms, _r(a.measured_ms),
                            a.measured_frames, _r(a.frame_period_ms), _r(a.reaction_ms),
                            a.flash_attempts, a.input_method, _iso(a.answered_at)])
        text = buf.getvalue()
        if out is not None:
            try:
                Path(out).write_text(text)
            except OSError as exc:
                raise OutputError(f"{out}: cannot write ({exc.strerror})") from None
        return text


def score(answers: list[Answer], config: dict, meta: dict | None = None) -> dict:
    """The score report of one session's answers: accuracy per emotion before and after,
    confusions, reaction times, the shortest practice duration mastered and flash timing."""
    emotions = [e for e in EMOTIONS if e in (config.get("emotions") or EMOTIONS)]
    by_phase: dict[str, list[Answer]] = {p: [a for a in answers if a.phase == p] for p in PHASES}

    def acc(rows):
        return round(sum(a.correct for a in rows) / len(rows), 4) if rows else None

    per_emotion = []
    for e in emotions:
        row = {"emotion": e}
        for p in PHASES:
            rows = [a for a in by_phase[p] if a.emotion == e]
            row[p] = {"correct": sum(a.correct for a in rows), "n": len(rows), "accuracy": acc(rows)}
        rts = [a.reaction_ms for a in answers if a.emotion == e and a.correct and a.reaction_ms is not None]
        row["median_rt_ms"] = _r(statistics.median(rts)) if rts else None
        per_emotion.append(row)
    confusions = {}
    for p in PHASES:
        c = Counter((a.emotion, a.answer) for a in by_phase[p])
        confusions[p] = {e: {f: c.get((e, f), 0) for f in EMOTIONS} for e in emotions}
    mixups = Counter((a.emotion, a.answer) for a in answers if not a.correct)
    stair = Staircase.replay(a.correct for a in by_phase["practice"])
    timing = [(a.set_ms, a.measured_ms) for a in answers if a.measured_ms is not None]
    rts_all = {p: [a.reaction_ms for a in by_phase[p] if a.reaction_ms is not None] for p in PHASES}
    return {
        **(meta or {}),
        "answers": len(answers),
        "pretest_accuracy": acc(by_phase["pretest"]),
        "practice_accuracy": acc(by_phase["practice"]),
        "posttest_accuracy": acc(by_phase["posttest"]),
        "per_emotion": per_emotion,
        "confusions": confusions,
        "top_confusions": [{"shown": e, "answered": f, "count": n} for (e, f), n in mixups.most_common(5)],
        "median_rt_ms": {p: (_r(statistics.median(v)) if v else None) for p, v in rts_all.items()},
        "mastered_ms": stair.mastered_ms,
        "staircase_levels_ms": list(LEVELS_MS),
        "practice_durations_ms": [a.set_ms for a in by_phase["practice"]],
        "flash_timing_max_error_ms": _r(max(abs(m - s) for s, m in timing)) if timing else None,
        "flashes_repeated": sum(a.flash_attempts - 1 for a in answers),
        "test_ms": config.get("test_ms"),
        "notes": list(config.get("notes") or []),
        "disclaimer": f"{TRAINER_NOTE} {DISCLAIMER}",
    }


def _num(v) -> float | None:
    if v is None:
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise InputError(f"not a number: {v!r}") from None
    if f != f or f in (float("inf"), float("-inf")):
        return None
    return f


def _r(v):
    return None if v is None else round(float(v), 2)


def _iso(dt):
    if dt is None:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return dt.isoformat(timespec="seconds")
