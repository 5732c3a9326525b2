"""Video-clip items: a short stretch of real video (neutral → onset → apex → offset) that the
trainer plays at true speed, frame by frame, instead of a still neutral/expression pair.

A clip is cut from a video by presentation time (PTS, never index/fps): from a little before
the onset to a little after the offset, at most :data:`MAX_CLIP_S`. Its first frame is the
neutral face, its apex frame the expression; the two are validated as a pair like any
stimulus (:func:`tells.trainer.validate.prepare_pair`: same person, registered), and every
frame is cropped to the neutral face's square and stored as ``clip/fNNN.jpg`` with its time.
Clips come from studio recordings (:mod:`tells.trainer.studio`), from reviewed events of
analysed recordings whose people agreed (``tells train pack build ANALYSIS --clips
--consent …``), and from the sample video's smile in the starter pack.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from tells.errors import InputError, OutputError
from tells.trainer.packs import CLIP_DIR, Item, Pack, add_item
from tells.trainer.validate import crop_frame, prepare_pair

#: longest clip (seconds)
MAX_CLIP_S = 4.0
#: neutral lead-in before the onset and tail after the offset (seconds)
PAD_S = 0.25
JPEG_QUALITY = 90


def read_span(video: str | Path, start_s: float, end_s: float) -> list[tuple[float, np.ndarray]]:
    """``(t, rgb)`` of every frame of ``video`` presented from ``start_s`` to ``end_s``."""
    from tells.io.video import open_video

    out = []
    with open_video(video) as src:
        for fr in src:
            if fr.t < start_s - 1e-6:
                continue
            if fr.t > end_s + 1e-6:
                break
            out.append((float(fr.t), fr.image))
    if len(out) < 2:
        raise InputError(f"{video}: fewer than two frames between {start_s:.2f} s and {end_s:.2f} s")
    return out


def add_clip(pack: Pack, frames: list[tuple[float, np.ndarray]], apex: int, *, name: str,
             emotion: str, aus: str, aus_source: str, face_key: str, status: str,
             origin: dict, analyze=None, near=None, item_id: str | None = None) -> Item:
    """Validate and store a clip item in ``pack`` (the manifest is saved by the caller).

    Parameters
    ----------
    frames : ``(t seconds, rgb)`` in presentation order; ``frames[0]`` shows the neutral face.
    apex : index of the frame showing the expression at its peak.
    name : what error messages call the clip.
    """
    if not 0 < apex < len(frames):
        raise InputError(f"{name}: the apex must come after the first (neutral) frame")
    t0 = frames[0][0]
    if frames[-1][0] - t0 > MAX_CLIP_S + 1e-6:
        raise InputError(f"{name}: a clip lasts at most {MAX_CLIP_S:g} s")
    pair = prepare_pair(frames[0][1], frames[apex][1], name=name, analyze=analyze, near=near)
    if item_id is None:
        item_id = "c" + hashlib.sha256(f"{face_key}/{name}/{t0:.3f}".encode()).hexdigest()[:10]
    item = add_item(pack, item_id, pair, emotion=emotion, aus=aus, aus_source=aus_source,
                    face_key=face_key, status=status, origin=origin)
    import cv2

    d = item.pack_dir / "items" / item_id / CLIP_DIR
    d.mkdir(parents=True, exist_ok=True)
    for k, (_t, img) in enumerate(frames):
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(crop_frame(img, pair.crop)[:, :, ::-1]),
                               [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
        try:
            item.clip_frame(k).write_bytes(buf.tobytes())
        except OSError as exc:
            raise OutputError(f"{d}: cannot write the clip ({exc.strerror})") from None
    item.clip = {"t_ms": [round((t - t0) * 1000.0, 2) for t, _ in frames], "apex": apex}
    return item


def expression_span(frames: list[tuple[float, np.ndarray]], emotion: str,
                    analyze=None) -> tuple[int, int, int] | None:
    """``(onset, apex, offset)`` frame indices of ``emotion`` in ``frames`` by the appearance
    CNN's probability: apex where it first comes within 5 % of its peak (a held expression's
    plateau starts there), onset and offset where it falls below a fifth of the way from the
    first frame's level to the peak; None when it never rises."""
    from tells.emotion.cnn import CNN_CLASSES, shared_cnn

    if analyze is None:
        from tells import analyze_image as analyze
    k = CNN_CLASSES.index(emotion)
    p = []
    for _t, img in frames:
        faces = list(analyze(img))
        p.append(float(shared_cnn()(faces[0].crop)[k]) if faces else 0.0)
    p = np.asarray(p)
    top = int(np.argmax(p))
    if top == 0 or p[top] - p[0] < 0.3:
        return None
    apex = int(np.argmax(p >= p[0] + 0.95 * (p[top] - p[0])))
    level = p[0] + 0.2 * (p[top] - p[0])
    onset = apex
    while onset > 0 and p[onset - 1] > level:
        onset -= 1
    offset = apex
    while offset < len(p) - 1 and p[offset + 1] > level:
        offset += 1
    return onset, apex, offset


__all__ = ["MAX_CLIP_S", "PAD_S", "add_clip", "expression_span", "read_span"]
