"""Who is this face? Identities seen so far in a recording, and the rule that gives a face
that comes back the id it had.

Each identity keeps a few face descriptors (:mod:`tells.face.descriptor`) taken at spaced
moments of its tracks. A returning face is compared with every identity that is not on screen
at that moment (two faces in one frame are never one person). The rule leans to splitting:

- nearest identity within ``reid_distance`` and at least ``reid_margin`` nearer than the
  runner-up: the earlier id, certain;
- with ``expected_faces`` known and all of them already seen, the face must be one of them:
  the nearest absent identity, recorded as uncertain;
- otherwise a new id; if an identity was close (dlib's same-person line, 0.6) that is recorded
  as uncertain, so a reader can merge the two by hand.

Every decision goes into :attr:`Gallery.log` (time, id, distances, certain or not).

May import: numpy, :mod:`tells.config`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tells.config import Settings

#: dlib's same-person line for this descriptor
SAME_PERSON = 0.6
#: descriptors kept per identity (the first few and the latest)
KEEP = 10


@dataclass
class Identity:
    face_id: int
    descriptors: list[np.ndarray] = field(default_factory=list)
    name: str | None = None

    def add(self, d: np.ndarray) -> None:
        self.descriptors.append(np.asarray(d, np.float32))
        if len(self.descriptors) > KEEP:
            del self.descriptors[KEEP // 2]  # keep the earliest half and the latest

    def distance(self, d: np.ndarray) -> float:
        """Distance from ``d`` to this identity: to the mean of its descriptors, or to the
        nearest single one if that is nearer (a person seen both frontal and turned)."""
        if not self.descriptors:
            return float("inf")
        stack = np.stack(self.descriptors)
        to_mean = float(np.linalg.norm(stack.mean(axis=0) - d))
        return min(to_mean, float(np.linalg.norm(stack - d, axis=1).min()) + 0.03)


@dataclass
class Decision:
    """What :meth:`Gallery.decide` concluded for one face."""

    face_id: int | None  # None: a new identity
    distance: float
    runner_up: float
    uncertain: bool
    note: str


class Gallery:
    """The identities of one recording (or, with :mod:`tells.face.people`, several)."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.identities: dict[int, Identity] = {}
        self.log: list[dict] = []

    def add(self, face_id: int, descriptor: np.ndarray | None = None) -> Identity:
        ident = self.identities.setdefault(face_id, Identity(face_id))
        if descriptor is not None:
            ident.add(descriptor)
        return ident

    def decide(self, descriptor: np.ndarray | None, present: set[int],
               own: int | None = None) -> Decision:
        """Which absent identity a face with ``descriptor`` is, if any (``present``: ids on
        screen now, never candidates; ``own``: the id the face carries now, ignored)."""
        s = self.settings
        known = [i for i in self.identities.values() if i.descriptors and i.face_id != own]
        candidates = sorted(((i.distance(descriptor), i.face_id) for i in known
                             if i.face_id not in present), key=lambda p: p[0]) \
            if descriptor is not None else []
        d1, best = candidates[0] if candidates else (float("inf"), None)
        d2 = candidates[1][0] if len(candidates) > 1 else float("inf")
        # anyone on screen who looks closer than the best absent one makes the match doubtful
        d_present = min((i.distance(descriptor) for i in known if i.face_id in present),
                        default=float("inf")) if descriptor is not None else float("inf")
        d2 = min(d2, d_present)
        if best is not None and d1 < s.reid_distance and d2 - d1 >= s.reid_margin:
            return Decision(best, d1, d2, False, "same person as before")
        n_known = len(self.identities) - (own is not None and own in self.identities)
        if s.expected_faces and n_known >= s.expected_faces and best is not None:
            return Decision(best, d1, d2, True,
                            f"{s.expected_faces} people expected and all seen: nearest absent")
        if best is not None and d1 < SAME_PERSON:
            return Decision(None, d1, d2, True, f"new id, but close to {best}")
        return Decision(None, d1, d2, False, "new person" if descriptor is not None
                        else "new person (no descriptor)")

    def record(self, t: float, face_id: int, decision: Decision, kind: str) -> None:
        def r(v: float):
            return None if not np.isfinite(v) else round(float(v), 3)

        self.log.append({"t": round(float(t), 3), "face_id": int(face_id), "kind": kind,
                         "distance": r(decision.distance), "runner_up": r(decision.runner_up),
                         "uncertain": bool(decision.uncertain), "note": decision.note})
