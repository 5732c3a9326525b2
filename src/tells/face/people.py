"""Named people across recordings (``tells people``): local, opt-in, deletable.

A user names a face once (``tells people add customer VIDEO``); its face descriptors
(:mod:`tells.face.descriptor`: 128 numbers a face, no image) are kept in one JSON file under
:func:`tells.config.tells_home` (``people/people.json``), nowhere else. Nothing is stored
unless a user adds someone, nothing is matched unless a user asks (``tells people match``),
and ``tells people remove NAME`` / ``tells people clear`` delete the data. A face descriptor
identifies a person: tell the people you record, and keep this store to people who agreed.

May import: numpy, :mod:`tells.config`, :mod:`tells.errors`, :mod:`tells.face`.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np

from tells.config import Settings, tells_home
from tells.errors import InputError
from tells.face.reid import Identity

VERSION = 1


def store_path() -> Path:
    return tells_home() / "people" / "people.json"


def load() -> dict[str, dict]:
    """Named people: ``{name: {"descriptors": [[128 floats], …], "added": …, "source": …}}``."""
    path = store_path()
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text())
        return dict(data["people"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"{path} is not a tells people file ({exc}); delete it with "
                         f"'tells people clear'") from None


def save(people: dict[str, dict]) -> Path:
    path = store_path()
    if not people:
        path.unlink(missing_ok=True)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".part-")
    with os.fdopen(fd, "w") as fh:
        json.dump({"version": VERSION, "people": people}, fh)
    os.replace(tmp, path)  # mkstemp's file is readable by its owner only
    return path


def faces_in(video: Path, settings: Settings | None = None) -> dict[int, dict]:
    """Track a video (faces only) and return, per face id, its descriptors and frame count."""
    from tells.face.track import FaceTracker
    from tells.io.video import open_video

    settings = (settings or Settings()).with_(reid=True)
    tracker = FaceTracker(settings)
    frames: dict[int, int] = {}
    try:
        with open_video(video, max_side=settings.max_side) as src:
            for frame in src:
                for face_id, _, _ in tracker.update(frame.image, frame.t):
                    frames[face_id] = frames.get(face_id, 0) + 1
    finally:
        tracker.close()
    out = {}
    for face_id, n in frames.items():
        ident = tracker.gallery.identities.get(face_id)
        out[face_id] = {"frames": n,
                        "descriptors": list(ident.descriptors) if ident is not None else []}
    return out


def add(name: str, descriptors: list[np.ndarray], source: str) -> dict[str, dict]:
    name = name.strip()
    if not name:
        raise InputError("a person's name cannot be empty")
    if not descriptors:
        raise InputError("that face was never seen clearly enough (frontal, at least 40 px "
                         "wide) to be described; try another recording")
    people = load()
    entry = people.get(name, {"descriptors": [], "added": time.strftime("%Y-%m-%d")})
    entry["descriptors"] = (entry["descriptors"] + [
        [round(float(v), 5) for v in d] for d in descriptors])[-20:]
    entry["source"] = source
    people[name] = entry
    save(people)
    return people


def match(descriptors: list[np.ndarray], people: dict[str, dict],
          settings: Settings | None = None) -> tuple[str | None, float, float]:
    """(name or None, distance, runner-up distance) for a face with ``descriptors``: a name
    only when the face is within ``reid_distance`` of that person and ``reid_margin`` nearer
    than to anyone else."""
    s = settings or Settings()
    if not descriptors or not people:
        return None, float("inf"), float("inf")
    mean = np.mean(descriptors, axis=0)
    scored = []
    for name, entry in people.items():
        ident = Identity(-1)
        for d in entry["descriptors"]:
            ident.add(np.asarray(d, np.float32))
        scored.append((ident.distance(mean), name))
    scored.sort()
    d1, name = scored[0]
    d2 = scored[1][0] if len(scored) > 1 else float("inf")
    if d1 < s.reid_distance and d2 - d1 >= s.reid_margin:
        return name, d1, d2
    return None, d1, d2
