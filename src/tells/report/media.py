"""Pictures for the report: face thumbnails and small animated onset→apex→offset clips, taken
from the original video by random access with PyAV (seek by PTS, decode forward) and encoded
with Pillow (JPEG thumbnails, animated WebP clips) as ``data:`` URIs so the report stays one
self-contained file.
"""

from __future__ import annotations

import base64
import io
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

__all__ = ["grab_frames", "crop_face", "jpeg_uri", "webp_clip_uri", "clip_times"]

#: when the next wanted time is this far ahead, seek instead of decoding forward
_SEEK_GAP_S = 2.0


def grab_frames(video: str | Path, times: Sequence[float]) -> list[np.ndarray | None]:
    """The frame shown at each of ``times`` (seconds from the start), as RGB arrays
    (height × width × 3, uint8; frames with the same time share one array).

    Times are visited in order, decoding forward and seeking (to the keyframe before) only
    across gaps, so many nearby times cost one decode pass. A time past the end gets the last
    frame; an undecodable video gives None for every time.
    """
    import av

    out: list[np.ndarray | None] = [None] * len(times)
    if not len(times):
        return out
    order = np.argsort(np.asarray(times, dtype=float), kind="stable")
    try:
        container = av.open(str(video))
    except (av.error.FFmpegError, OSError):
        return out
    with container:
        if not container.streams.video:
            return out
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        tb = float(stream.time_base)
        start = stream.start_time or 0
        rate = float(stream.average_rate or 25)
        eps = 0.5 / rate
        decoder = None
        cur = cur_t = None
        cache: dict[int, np.ndarray] = {}
        for idx in order:
            t = float(times[idx])
            if decoder is None or cur_t is None or t < cur_t - eps or t - cur_t > _SEEK_GAP_S:
                try:
                    container.seek(start + max(0, int(t / tb)), stream=stream, backward=True)
                except av.error.FFmpegError:
                    break
                decoder = container.decode(stream)
                cur = cur_t = None
            while cur_t is None or cur_t < t - eps:
                try:
                    frame = next(decoder)
                except (StopIteration, av.error.FFmpegError):
                    break
                if frame.pts is None:
                    continue
                cur, cur_t = frame, (frame.pts - start) * tb
            if cur is not None:
                key = int(cur.pts)
                if key not in cache:
                    if len(cache) > 64:
                        cache.clear()
                    cache[key] = cur.to_ndarray(format="rgb24")
                out[idx] = cache[key]
    return out


def crop_face(image: np.ndarray, box: tuple[float, float, float, float] | None, size: int,
              margin: float = 0.25) -> Image.Image:
    """A square crop of an RGB array around ``box`` (x, y, width, height in pixels) with
    ``margin`` on each side, resized to ``size``; the centre square when there is no box.
    Parts of the square outside the frame are black."""
    h, w = image.shape[:2]
    if box is None or not all(math.isfinite(v) for v in box) or box[2] <= 1 or box[3] <= 1:
        side = min(w, h)
        left, top = (w - side) / 2, (h - side) / 2
    else:
        x, y, bw, bh = box
        side = max(bw, bh) * (1 + 2 * margin)
        cx, cy = x + bw / 2, y + bh / 2
        left, top = cx - side / 2, cy - side / 2
    left, top, side = int(left), int(top), max(1, int(side))
    if side <= w:  # slide the square inside the frame rather than pad it
        left = min(max(left, 0), w - side)
    if side <= h:
        top = min(max(top, 0), h - side)
    sub = image[max(0, top): max(0, top + side), max(0, left): max(0, left + side)]
    if sub.shape[0] != side or sub.shape[1] != side:  # pad what falls outside the frame
        pad = np.zeros((side, side, 3), np.uint8)
        oy, ox = max(0, -top), max(0, -left)
        pad[oy: oy + sub.shape[0], ox: ox + sub.shape[1]] = sub
        sub = pad
    return Image.fromarray(np.ascontiguousarray(sub)).resize((size, size), Image.BILINEAR)


def jpeg_uri(image: Image.Image, quality: int = 72) -> str:
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=quality, optimize=True)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def webp_clip_uri(images: Sequence[Image.Image], frame_ms: int, quality: int = 50) -> str:
    """An endlessly looping animated WebP of ``images``, each shown ``frame_ms``."""
    buf = io.BytesIO()
    first, rest = images[0], list(images[1:])
    first.save(buf, "WEBP", save_all=True, append_images=rest, duration=frame_ms, loop=0,
               quality=quality, method=4)
    return "data:image/webp;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def clip_times(onset: float, offset: float, fps: float, max_frames: int = 12,
               pad_s: float = 0.15) -> list[float]:
    """Times to sample for a clip: from ``pad_s`` before onset to ``pad_s`` after offset,
    every frame when short, else ``max_frames`` evenly spaced."""
    a, b = max(0.0, onset - pad_s), offset + pad_s
    n = int(min(max_frames, max(2, round((b - a) * fps) + 1)))
    return np.linspace(a, b, n).tolist()
