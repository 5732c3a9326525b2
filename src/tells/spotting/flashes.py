"""METT-style flash clips from labelled faces, and their scoring (``tells eval flashes``).

A *flash* is an expression shown briefly on a calm face: the person's neutral face, the
expression for ``flash_s`` seconds (0.04 to 0.5 s for a micro-expression), then neutral again,
as the Micro Expression Training Tool shows them. Two kinds of labelled input make flashes:

- **photo pairs** — a neutral and an expression photo of the same person
  (``DIR/<label>/<item>/neutral.* + expression.*``, the trainer's pack layout, or a CSV with
  columns ``neutral, expression, label`` and optionally ``subject``);
- **image sequences** — a folder of frames from neutral to peak (onset → apex), one folder
  per sequence (``DIR/<label>/<sequence>/*.png`` or ``DIR/<sequence>/`` with a CSV of
  ``sequence, label``).

``micro`` plays a pair as neutral → expression → neutral (a hard cut, as METT does) and a
sequence onset → apex → onset squeezed into ``flash_s``; ``macro`` eases a pair in and out
(a 0.25 s cross-fade each way, the expression held ``hold_s``) and plays a sequence at its
natural frame rate with the apex held ``hold_s``.

Expression photos are aligned onto the neutral photo by a similarity fit of stable landmarks
(eye corners, nose bridge) so that only the face's expression changes, not the head's place
in the picture (a flash stimulus is registered; ``align=False`` leaves them as they are).

Scoring (:func:`score_clip`): a flash is *spotted* when an event's interval overlaps it
(each end may miss by ``tolerance_s``); the event emotion is that of the overlapping event
with the highest confidence; any other event is a *false event*.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from tells.contract import normalise_label
from tells.errors import InputError, OutputError
from tells.io.image import read_image
from tells.io.table import read_csv_rows

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
#: landmarks that an expression barely moves: outer/inner eye corners and the nose bridge
STABLE_POINTS = [33, 133, 362, 263, 168, 6, 197, 195, 5]
FADE_S = 0.25


@dataclass
class FlashItem:
    """One labelled stimulus: a photo pair or an onset→apex image sequence."""

    name: str
    label: str
    subject: str = ""
    neutral: Path | None = None
    expression: Path | None = None
    frames: list[Path] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return "sequence" if self.frames else "pair"


@dataclass(frozen=True)
class Clip:
    """A rendered flash: RGB frames at ``fps`` and the truth interval in seconds."""

    frames: list[np.ndarray]
    fps: float
    onset_t: float
    apex_t: float
    offset_t: float
    apex_index: int


def _images(folder: Path) -> list[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)


def _named(folder: Path, stem: str) -> Path | None:
    hits = [f for f in _images(folder) if f.stem.lower() == stem]
    return hits[0] if hits else None


def read_items(source: str | os.PathLike, labels: str | os.PathLike | None = None) -> list[FlashItem]:
    """Labelled stimuli from a folder or a pairs CSV (see the module docstring).

    Raises :class:`InputError` with one line when nothing usable is found.
    """
    src = Path(source)
    if src.is_file() and src.suffix.lower() == ".csv":
        return _read_pairs_csv(src)
    if not src.is_dir():
        raise InputError(f"{src}: no such folder or pairs CSV")
    label_of = _read_labels(Path(labels)) if labels else {}
    items: list[FlashItem] = []
    for top in sorted(d for d in src.iterdir() if d.is_dir()):
        subs = sorted(d for d in top.iterdir() if d.is_dir())
        if subs and not label_of:  # DIR/<label>/<item or sequence>/
            for d in subs:
                items.extend(_item_from_folder(d, normalise_label(top.name), d.name))
        else:  # DIR/<sequence>/ labelled by the CSV
            label = label_of.get(top.name)
            if label is None:
                continue
            items.extend(_item_from_folder(top, label, ""))
    if not items:
        hint = "" if label_of else " (or pass --labels CSV with columns sequence,label)"
        raise InputError(f"{src}: no labelled pairs or sequences found: expected "
                         f"DIR/<label>/<item>/neutral.jpg + expression.jpg or "
                         f"DIR/<label>/<sequence>/*.png{hint}")
    return items


def _item_from_folder(d: Path, label: str, subject: str) -> list[FlashItem]:
    neutral, expression = _named(d, "neutral"), _named(d, "expression")
    if neutral is not None and expression is not None:
        return [FlashItem(f"{label}/{d.name}", label, subject, neutral, expression)]
    frames = _images(d)
    if len(frames) >= 2:
        return [FlashItem(f"{label}/{d.name}", label, subject, frames=frames)]
    return []


def _read_labels(path: Path) -> dict[str, str]:
    rows = read_csv_rows(path, ["sequence", "label"])
    return {r["sequence"].strip(): normalise_label(r["label"]) for r in rows}


def _read_pairs_csv(path: Path) -> list[FlashItem]:
    rows = read_csv_rows(path, ["neutral", "expression", "label"],
                         "neutral, expression, label[, subject]")
    base = path.parent
    items = []
    for i, r in enumerate(rows):
        n, e = base / r["neutral"].strip(), base / r["expression"].strip()
        items.append(FlashItem(f"{i:04d}:{e.name}", normalise_label(r["label"]),
                               (r.get("subject") or "").strip(), n, e))
    return items


def find_mesh(rgb: np.ndarray) -> np.ndarray | None:
    """The (478, 3) face mesh of the one face found in a photo, in its pixels; None if none."""
    from tells.face.still import find_faces

    faces = find_faces(rgb, max_faces=1)
    return faces[0][0] if faces else None


def align_onto(image: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """``image`` warped so that its face's stable landmarks sit where ``reference``'s are
    (same size as ``reference``); unchanged when either face is not found."""
    import cv2

    a, b = find_mesh(image), find_mesh(reference)
    h, w = reference.shape[:2]
    if a is None or b is None:
        return image if image.shape == reference.shape else cv2.resize(image, (w, h))
    from tells.face.geometry import similarity_matrix

    m = similarity_matrix(a[STABLE_POINTS], b[STABLE_POINTS])
    return cv2.warpAffine(image, m, (w, h), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


def _even(img: np.ndarray) -> np.ndarray:
    h, w = img.shape[:2]
    return np.ascontiguousarray(img[: h - h % 2, : w - w % 2])


def make_clip(item: FlashItem, *, flash_s: float = 0.4, fps: float = 30.0,
              variant: str = "micro", lead_s: float = 1.5, tail_s: float = 1.0,
              hold_s: float = 1.0, seq_fps: float = 30.0, align: bool = True) -> Clip:
    """Render ``item`` as a flash clip (see the module docstring)."""
    if variant not in ("micro", "macro"):
        raise ValueError("variant is 'micro' or 'macro'")
    if item.kind == "pair":
        neutral = read_image(item.neutral)
        expr = read_image(item.expression)
        expr = align_onto(expr, neutral) if align else expr
        if expr.shape != neutral.shape:
            import cv2

            expr = cv2.resize(expr, (neutral.shape[1], neutral.shape[0]))
        path = _pair_weights(flash_s, fps, variant, hold_s)
        stills = [neutral, expr]
        frames_w = [(0, 1, w) for w in path]
    else:
        seq = [read_image(p) for p in item.frames]
        ref = seq[0]
        if align:
            seq = [ref] + [align_onto(s, ref) for s in seq[1:]]
        stills = seq
        frames_w = [(k, k, 1.0) for k in _sequence_indices(len(seq), flash_s, fps, variant,
                                                           hold_s, seq_fps)]
    lead = [(0, 0, 0.0)] * round(lead_s * fps)
    tail = [(0, 0, 0.0)] * round(tail_s * fps)
    plan = lead + frames_w + tail
    out = []
    for a, b, w in plan:
        if a == b or w <= 0.0:
            img = stills[b if w > 0 else a]
        elif w >= 1.0:
            img = stills[b]
        else:
            img = (stills[a].astype(np.float32) * (1 - w) + stills[b].astype(np.float32) * w
                   ).round().astype(np.uint8)
        out.append(_even(img))
    onset_i = len(lead)
    offset_i = len(lead) + len(frames_w) - 1
    strength = [w if a != b else (b / max(1, len(stills) - 1)) for a, b, w in frames_w]
    apex_i = onset_i + int(np.argmax(strength))
    return Clip(out, fps, onset_i / fps, apex_i / fps, offset_i / fps, apex_i)


def _pair_weights(flash_s: float, fps: float, variant: str, hold_s: float) -> list[float]:
    if variant == "micro":
        return [1.0] * max(1, round(flash_s * fps))
    ramp = max(1, round(FADE_S * fps))
    up = [(i + 1) / ramp for i in range(ramp)]
    return up + [1.0] * max(1, round(hold_s * fps)) + up[::-1][1:] + [0.0]


def _sequence_indices(n: int, flash_s: float, fps: float, variant: str, hold_s: float,
                      seq_fps: float) -> list[int]:
    if variant == "micro":
        m = max(2, round(flash_s * fps))  # frames from the first changed one to the last
        u = (m + 2) // 2  # rising frames, ending on the apex; the rest fall back
        up = [int(round(x)) for x in np.linspace(0, n - 1, u + 1)[1:]]
        return up + up[::-1][1 : 1 + m - u]
    step = seq_fps / fps
    up = [min(n - 1, int(round(k * step))) for k in range(1, int((n - 1) / step) + 2)]
    return up + [n - 1] * max(1, round(hold_s * fps)) + up[::-1][1:]


def write_clip(clip: Clip, path: Path) -> Path:
    """Encode a clip as H.264 (yuv420p) with PyAV."""
    import av

    try:
        with av.open(str(path), "w") as out:
            stream = out.add_stream("libx264", rate=Fraction(clip.fps).limit_denominator(1001))
            h, w = clip.frames[0].shape[:2]
            stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
            stream.options = {"crf": "16", "preset": "veryfast"}
            for img in clip.frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    except OSError as exc:
        raise OutputError(f"cannot write {path} ({exc.strerror or exc})") from None
    return path


def score_clip(events, clip: Clip, tolerance_s: float = 0.1) -> dict:
    """Match a clip's events to its flash.

    Returns ``{"spotted": bool, "emotion": str | None, "confidence": float | None,
    "false_events": int, "iou": float}`` where ``iou`` is that of the chosen event.
    """
    lo, hi = clip.onset_t - tolerance_s, clip.offset_t + tolerance_s
    hits, false = [], 0
    for ev in events:
        if ev["offset_t"] >= lo and ev["onset_t"] <= hi:
            hits.append(ev)
        else:
            false += 1
    if not hits:
        return {"spotted": False, "emotion": None, "confidence": None, "false_events": false,
                "iou": 0.0}
    best = max(hits, key=lambda e: float(e["confidence"]))
    inter = max(0.0, min(best["offset_t"], clip.offset_t) - max(best["onset_t"], clip.onset_t))
    union = max(best["offset_t"], clip.offset_t) - min(best["onset_t"], clip.onset_t)
    return {"spotted": True, "emotion": best["emotion"],
            "confidence": float(best["confidence"]), "false_events": false,
            "iou": round(inter / union, 3) if union > 0 else 0.0}
