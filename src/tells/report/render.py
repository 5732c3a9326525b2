"""``tells render``: the original video with the analysis drawn on it — a box per face coloured
by its most likely emotion, the emotion and its probability, action-unit bars beside the face,
and a flashing border with a caption while a spotted event runs. Decoded and encoded with
PyAV (H.264), drawn with Pillow, written to a temporary name and renamed when complete.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from tells.errors import InputError, OutputError
from tells.insights.tables import EMOTIONS, au_columns, load_analysis
from tells.report.build import EMOTION_COLORS

__all__ = ["render_video", "check_output_path", "SHOWN_AUS"]

#: AUs drawn as bars (the ones the EMFACS prototypes use), when present in the table
SHOWN_AUS = (1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 25, 26)
#: an event's caption stays this long after its offset so a viewer can read it
HOLD_S = 0.4


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1
        return ImageFont.load_default()


def _rgb(hexcolor: str) -> tuple[int, int, int]:
    h = hexcolor.lstrip("#")
    return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)


def check_output_path(output: str | Path) -> Path:
    """Raise :class:`OutputError` unless ``output`` is a writable .mp4/.mov/.mkv path."""
    output = Path(output)
    if output.suffix.lower() not in (".mp4", ".mov", ".mkv"):
        raise OutputError(f"{output}: give an .mp4, .mov or .mkv file name")
    if not output.parent.is_dir():
        raise OutputError(f"{output.parent}: no such directory")
    if not os.access(output.parent, os.W_OK):
        raise OutputError(f"{output.parent}: not writable")
    return output


def render_video(out_dir: str | Path, output: str | Path, *, video: str | Path | None = None,
                 progress: Callable[[int], None] | None = None) -> Path:
    """Render the overlay video of an analysis.

    Parameters
    ----------
    out_dir
        The analysis directory (per-frame table, ``run.json``, events if spotted).
    output
        The ``.mp4`` (or ``.mov``/``.mkv``) to write.
    video
        The original video; by default the one named in ``run.json``.
    progress
        Called with the number of frames done since the last call.

    Returns
    -------
    pathlib.Path
        ``output``.
    """
    import av

    analysis = load_analysis(out_dir)
    src = Path(video) if video else analysis.video_path
    if src is None:
        raise InputError(f"{out_dir}: run.json names no video; pass --video")
    if not src.exists():
        raise InputError(f"original video not found: {src} (pass --video)")
    output = check_output_path(output)
    tmp = output.with_name(f".{output.stem}.partial{output.suffix}")

    ff = analysis.face_frames
    aus = [c for c in au_columns(analysis.frames) if int(c[2:4]) in SHOWN_AUS]
    has_emo = analysis.has_emotion
    cols = ["x", "y", "width", "height"]
    have_box = all(c in ff.columns for c in cols)
    key = "frame" if "frame" in ff.columns else None
    per_frame: dict[int, list[tuple]] = {}
    if len(ff) and have_box and key:
        box = ff[cols].to_numpy(dtype=float)
        emo = ff[list(EMOTIONS)].to_numpy(dtype=float) if has_emo else None
        au = ff[aus].to_numpy(dtype=float) if aus else None
        fids = ff["face_id"].to_numpy()
        for i, fr in enumerate(ff[key].to_numpy(dtype=np.int64)):
            per_frame.setdefault(int(fr), []).append(
                (fids[i], box[i], emo[i] if emo is not None else None,
                 au[i] if au is not None else None))
    events = analysis.events
    ev_rows = [] if events is None else events.to_dict("records")
    font, small = _font(14), _font(10)

    try:
        inp = av.open(str(src))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"{src}: cannot open as video ({exc})") from None
    try:
        ist = inp.streams.video[0]
        ist.thread_type = "AUTO"
        rate = ist.average_rate or ist.guessed_rate or Fraction(25)
        rate = Fraction(rate).limit_denominator(100000)
        tb = ist.time_base
        start = ist.start_time or 0
        width = ist.codec_context.width // 2 * 2
        height = ist.codec_context.height // 2 * 2
        try:
            out = av.open(str(tmp), "w")
        except (av.error.FFmpegError, OSError) as exc:
            raise OutputError(f"cannot write {output}: {exc}") from None
        try:
            ost = out.add_stream("libx264", rate=rate)
            ost.width, ost.height, ost.pix_fmt = width, height, "yuv420p"
            ost.options = {"preset": "veryfast", "crf": "23"}
            last_pts, done = -1, 0
            for index, frame in enumerate(inp.decode(ist)):
                t = float((frame.pts - start) * tb) if frame.pts is not None else index / float(rate)
                img = frame.to_image()
                if img.size != (width, height):
                    img = img.crop((0, 0, width, height))
                _draw(img, per_frame.get(index, []), aus, ev_rows, t, font, small)
                vf = av.VideoFrame.from_image(img)
                pts = max(last_pts + 1, int(round(t * rate)))
                vf.pts, vf.time_base = pts, 1 / rate
                last_pts = pts
                for packet in ost.encode(vf):
                    out.mux(packet)
                done += 1
                if progress and done % 50 == 0:
                    progress(50)
            for packet in ost.encode():
                out.mux(packet)
            if progress and done % 50:
                progress(done % 50)
        finally:
            out.close()
    except av.error.FFmpegError as exc:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{src}: decoding failed part way ({exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        inp.close()
    if done == 0:
        tmp.unlink(missing_ok=True)
        raise InputError(f"{src}: no frames could be decoded")
    os.replace(tmp, output)
    return output


def _draw(img: Image.Image, faces: list[tuple], aus: list[str], events: list[dict], t: float,
          font, small) -> None:
    d = ImageDraw.Draw(img, "RGBA")
    W, H = img.size
    active = [e for e in events
              if e.get("onset_t") is not None and e["onset_t"] <= t <= (e.get("offset_t") or 0) + HOLD_S]
    for fid, box, emo, au in faces:
        x, y, w, h = (float(v) for v in box)
        if not np.isfinite([x, y, w, h]).all():
            continue
        label, color = f"face {fid}", (255, 255, 255)
        if emo is not None and np.isfinite(emo).all():
            k = int(np.argmax(emo))
            color = _rgb(EMOTION_COLORS[EMOTIONS[k]])
            label += f" · {EMOTIONS[k]} {emo[k] * 100:.0f}%"
        d.rectangle([x, y, x + w, y + h], outline=color + (255,), width=3)
        tw = d.textlength(label, font=font)
        ly = max(0, y - 20)
        d.rectangle([x, ly, x + tw + 8, ly + 19], fill=(0, 0, 0, 160))
        d.text((x + 4, ly + 2), label, fill=color + (255,), font=font)
        if au is not None and len(aus):
            _au_bars(d, aus, au, x, y, w, h, W, small)
    for i, e in enumerate(active):
        color = _rgb(EMOTION_COLORS.get(str(e.get("emotion")), "#ffffff"))
        # flash: strong at the apex, fading towards onset/offset
        span = max(1e-3, (e.get("offset_t") or t) - e["onset_t"])
        alpha = int(255 * max(0.35, 1 - abs(t - (e.get("apex_t") or t)) / span))
        if i == 0:
            d.rectangle([0, 0, W - 1, H - 1], outline=color + (alpha,), width=8)
        conf = e.get("confidence")
        text = (f"{str(e.get('kind', '')).upper()} {e.get('emotion', '')}"
                + (f" {conf:.2f}" if isinstance(conf, float) and conf == conf else "")
                + (f" · leakage behind {e.get('displayed_emotion') or 'another expression'}"
                   if e.get("leakage") else "")
                + f" · face {e.get('face_id')} · {e.get('aus') or ''}")
        ty = H - 30 - 24 * i
        d.rectangle([10, ty, 18 + d.textlength(text, font=font), ty + 20], fill=(0, 0, 0, 190))
        d.text((14, ty + 3), text, fill=color + (255,), font=font)
    d.text((W - 190, 6), "tells: cues, not proof", fill=(255, 255, 255, 150), font=small)


def _au_bars(d: ImageDraw.ImageDraw, aus: list[str], au: np.ndarray, x: float, y: float,
             w: float, h: float, W: int, font) -> None:
    bar_w, row = 50, max(8, min(12, h / max(1, len(aus))))
    panel_w = bar_w + 34
    px = x + w + 6 if x + w + 6 + panel_w <= W else max(0, x - panel_w - 6)
    d.rectangle([px, y, px + panel_w, y + row * len(aus) + 4], fill=(0, 0, 0, 120))
    for j, name in enumerate(aus):
        v = float(au[j]) if np.isfinite(au[j]) else 0.0
        ry = y + 2 + j * row
        d.text((px + 3, ry - 1), name[:4], fill=(230, 230, 230, 255), font=font)
        d.rectangle([px + 30, ry + 2, px + 30 + bar_w * min(v, 5) / 5, ry + row - 2],
                    fill=(255, 200, 60, 230) if v >= 1 else (160, 160, 160, 200))
