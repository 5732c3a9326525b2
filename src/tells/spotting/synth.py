"""Synthetic ground truth from real video: expressions injected into a real face.

The face in the input video is tracked; at planned times its frames are warped with the FACS
oracle (:func:`tells.facs.synth.synth_face`) following an onset → apex → offset profile, using
the EMFACS action units of the chosen emotion at intensities B to D (contempt one-sided). Micro
expressions last 150–500 ms onset to offset, macro 0.7–3 s. Distractors are added too: extra
blinks (AU45) and small head movements (a smooth shift and tilt of the whole frame), which a
spotter must not report. The truth table has the event columns of the output contract.

``duration_s`` longer than the input (or a ``segment``) plays the input forward and backward
(ping-pong), so motion stays continuous and any calm stretch can become a long base video.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from tells.config import Settings
from tells.contract import EMOTIONS, EVENT_COLUMNS
from tells.errors import InputError, OutputError
from tells.face.track import FaceTracker
from tells.facs.prototypes import prototype_request
from tells.facs.synth import synth_face
from tells.io.frames import Frame
from tells.io.table import ensure_writable_dir, write_csv
from tells.io.video import open_video

EXPRESSIONS = [e for e in EMOTIONS if e != "neutral"]
INTENSITY_LETTERS = {2.0: "B", 3.0: "C", 4.0: "D"}


@dataclass
class Planned:
    kind: str  # micro | macro | blink | head
    onset_t: float
    apex_t: float
    offset_t: float
    emotion: str = ""
    intensity: float = 0.0
    aus: dict[str, float] | None = None
    head: tuple[float, float, float] = (0.0, 0.0, 0.0)  # dx, dy (fraction of width), degrees


def plan_events(duration: float, rng: np.random.Generator, rate_per_min: float = 6.0,
                kinds: tuple[str, ...] = ("micro", "macro"), distractors: bool = True,
                margin_s: float = 1.5, gap_s: float = 2.5) -> list[Planned]:
    """Non-overlapping expression times (and distractors between them).

    The expressions are spread over the whole clip: it is cut into one slot per expression and
    each starts at a random time in its slot, so calm stretches of varying length lie between
    them (at rates too high for that, they follow each other ``gap_s`` to ``2 gap_s`` apart)."""
    n = max(1, int(round(duration / 60.0 * rate_per_min)))
    slot = (duration - 2 * margin_s) / n
    spread = slot >= 3.0 + gap_s  # room for the longest macro and a gap in every slot
    events: list[Planned] = []
    t = margin_s + rng.uniform(0, gap_s)
    while len(events) < n and t < duration - margin_s - 0.5:
        kind = kinds[len(events) % len(kinds)] if len(kinds) > 1 else kinds[0]
        length = rng.uniform(0.15, 0.5) if kind == "micro" else rng.uniform(0.7, 3.0)
        if spread:
            start = margin_s + len(events) * slot
            t = rng.uniform(start, start + slot - length - gap_s)
        if t + length > duration - margin_s:
            break
        emotion = EXPRESSIONS[int(rng.integers(len(EXPRESSIONS)))]
        intensity = float(rng.choice([2.0, 3.0, 4.0]))
        rise = rng.uniform(0.35, 0.5) * length
        aus = prototype_request(emotion, intensity)
        events.append(Planned(kind, t, t + rise, t + length, emotion, intensity, aus))
        t += length + gap_s + rng.uniform(0, gap_s)
    out = list(events)
    if distractors:  # a blink or a head movement in the gaps between expressions
        bounds = [0.0] + [x for e in events for x in (e.onset_t, e.offset_t)] + [duration]
        for k in range(0, len(bounds) - 1, 2):
            lo, hi = bounds[k] + 0.6, bounds[k + 1] - 0.6
            if hi - lo < 1.2:
                continue
            mid = rng.uniform(lo, hi - 0.8)
            if rng.random() < 0.5:
                length = rng.uniform(0.15, 0.3)
                out.append(Planned("blink", mid, mid + length / 2, mid + length,
                                   aus={"AU45": 5.0}))
            else:
                length = rng.uniform(0.6, 1.0)
                head = (rng.uniform(-0.02, 0.02), rng.uniform(-0.015, 0.015),
                        rng.uniform(-3.0, 3.0))
                out.append(Planned("head", mid, mid + length / 2, mid + length, head=head))
    return sorted(out, key=lambda e: e.onset_t)


def profile(t: float, e: Planned) -> float:
    """0..1: raised-cosine rise to the apex, then raised-cosine fall to the offset."""
    if t <= e.onset_t or t >= e.offset_t:
        return 0.0
    if t <= e.apex_t:
        x = (t - e.onset_t) / max(e.apex_t - e.onset_t, 1e-6)
    else:
        x = (e.offset_t - t) / max(e.offset_t - e.apex_t, 1e-6)
    return 0.5 - 0.5 * math.cos(math.pi * x)


def pingpong(path: Path, duration_s: float | None, segment: tuple[float, float] | None
             ) -> Iterator[Frame]:
    """Frames of ``path`` (or its ``segment``) played forward and backward to ``duration_s``."""
    with open_video(path) as src:
        fps = src.info.fps or 30.0
        clip = [f.image for f in src if segment is None or segment[0] <= f.t < segment[1]]
    if len(clip) < 2:
        raise InputError(f"{path}: the chosen stretch holds fewer than two frames")
    total = len(clip) if duration_s is None else int(round(duration_s * fps))
    order = list(range(len(clip))) + list(range(len(clip) - 2, 0, -1))
    for i in range(total):
        yield Frame(i, i / fps, clip[order[i % len(order)]])


def _head_move(img: np.ndarray, amount: float, head: tuple[float, float, float]) -> np.ndarray:
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), head[2] * amount, 1.0)
    m[0, 2] += head[0] * w * amount
    m[1, 2] += head[1] * w * amount
    return cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT101)


def _code(aus: dict[str, float]) -> str:
    parts = []
    for key in sorted(aus, key=lambda k: (int(k[2:4]), k[4:])):
        v = aus[key]
        letter = "ABCDE"[int(np.clip(round(v), 1, 5)) - 1]
        side = key[4:] if len(key) > 4 else ""
        parts.append(f"{side}{int(key[2:4])}{letter}")
    return "+".join(parts)


def synth_video(video: str | os.PathLike, out: str | os.PathLike, truth: str | os.PathLike,
                *, seed: int = 0, rate_per_min: float = 6.0,
                kinds: tuple[str, ...] = ("micro", "macro"), duration_s: float | None = None,
                segment: tuple[float, float] | None = None, distractors: bool = True,
                progress=None) -> pd.DataFrame:
    """Write a video with injected expressions and its truth table; returns the truth.

    Parameters
    ----------
    video : a real video with one clearly visible face.
    out, truth : output video (mp4, h264) and truth CSV paths.
    seed : random seed (same seed, same plan).
    rate_per_min : expressions per minute.
    kinds : ``("micro",)``, ``("macro",)`` or both (alternating).
    duration_s, segment : length of the output and the input stretch to play (ping-pong).
    """
    import av

    out, truth = Path(out), Path(truth)
    for p in (out, truth):
        ensure_writable_dir(p.parent if str(p.parent) else Path("."))
    with open_video(video) as probe:
        fps = probe.info.fps or 30.0
        length = probe.info.duration_s or 0.0
    if segment is not None:
        length = segment[1] - segment[0]
    total_s = duration_s or length
    rng = np.random.default_rng(seed)
    plan = plan_events(total_s, rng, rate_per_min, kinds, distractors)
    tracker = FaceTracker(Settings(max_faces=1))
    rows, frame_times = [], []
    tmp = out.with_name(out.name + ".partial.mp4")
    frames = pingpong(Path(video), total_s if (duration_s or segment) else None, segment)
    try:
        with av.open(str(tmp), "w") as container:
            stream = None
            for frame in frames:
                img = frame.image
                if stream is None:
                    stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
                    stream.width, stream.height = img.shape[1] - img.shape[1] % 2, \
                        img.shape[0] - img.shape[0] % 2
                    stream.pix_fmt = "yuv420p"
                    stream.options = {"crf": "16", "preset": "veryfast"}
                faces = tracker.update(img, frame.t)
                active = [(e, profile(frame.t, e)) for e in plan if e.onset_t < frame.t < e.offset_t]
                if faces and active:
                    lm = faces[0][1]
                    request: dict[str, float] = {}
                    for e, a in active:
                        for k, v in (e.aus or {}).items():
                            request[k] = max(request.get(k, 0.0), v * a)
                    if request:
                        img = synth_face(img, request, landmarks=lm)
                for e, a in active:
                    if e.kind == "head":
                        img = _head_move(img, a, e.head)
                frame_times.append(frame.t)
                vf = av.VideoFrame.from_ndarray(
                    np.ascontiguousarray(img[: stream.height, : stream.width]), format="rgb24")
                for packet in stream.encode(vf):
                    container.mux(packet)
                if progress is not None:
                    progress(frame)
            if stream is not None:
                for packet in stream.encode():
                    container.mux(packet)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {out} ({exc.strerror or exc})") from None
    finally:
        tracker.close()
    times = np.array(frame_times)
    for e in plan:
        if e.kind not in ("micro", "macro"):
            continue
        on, ap, off = (int(np.argmin(np.abs(times - x))) for x in (e.onset_t, e.apex_t,
                                                                    e.offset_t))
        rows.append({
            "video": out.name, "face_id": 0, "kind": e.kind, "onset_frame": on,
            "apex_frame": ap, "offset_frame": off, "onset_t": round(times[on], 4),
            "apex_t": round(times[ap], 4), "offset_t": round(times[off], 4),
            "duration_s": round(times[off] - times[on], 4), "aus": _code(e.aus or {}),
            "emotion": e.emotion, "confidence": 1.0, "displayed_emotion": "neutral",
            "leakage": False, "intensity": INTENSITY_LETTERS.get(e.intensity, ""),
        })
    table = pd.DataFrame(rows, columns=["video", *EVENT_COLUMNS, "intensity"])
    write_csv(table, truth)
    distract = pd.DataFrame([{"kind": e.kind, "onset_t": e.onset_t, "offset_t": e.offset_t}
                             for e in plan if e.kind in ("blink", "head")])
    write_csv(distract, truth.with_name(truth.stem + ".distractors.csv"))
    return table
