"""Building ``report.html`` and ``summary.json`` from a saved analysis directory.

:func:`write_report` is the one entry point (``tells analyze`` and ``tells report`` call it).
The page is assembled from ``assets/report.css`` and ``assets/report.js`` (inlined) and one
JSON payload; pictures come from :mod:`tells.report.media`, timelines from
:mod:`tells.report.timeline`. Media are budgeted so a long call stays well under 15 MB.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
import math
import os
import tempfile
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path

import numpy as np

from tells import DISCLAIMER, __version__
from tells.errors import OutputError
from tells.insights.segments import Segment, read_segments
from tells.insights.summary import annotate_events, summarize
from tells.insights.tables import EMOTIONS, Analysis, au_columns, load_analysis
from tells.insights.transcript import Cue, read_transcript
from tells.report import media
from tells.report.timeline import bin_series, encode_u8

__all__ = ["write_report", "build_payload", "render_html", "CONTEXT_FILE"]

#: transcript/segments given once are kept here so ``tells report DIR`` can reuse them
CONTEXT_FILE = "context.json"
#: display columns of a timeline (the data keeps every frame)
TIMELINE_BINS = 1600
#: at most this many base64 bytes of thumbnails and clips in one report
MEDIA_BUDGET = 11_000_000
THUMB_PX = 88
CLIP_PX = 96
#: clips play at this fraction of real speed so a 200 ms flash can be seen
CLIP_SLOWDOWN = 4
EMOTION_COLORS = {
    "anger": "#d62728",
    "contempt": "#8c564b",
    "disgust": "#2ca02c",
    "fear": "#9467bd",
    "happiness": "#f2b600",
    "sadness": "#1f77b4",
    "surprise": "#ff7f0e",
    "neutral": "#c7c7c7",
}


def write_report(out_dir: str | Path, *, transcript: str | Path | Sequence[Cue] | None = None,
                 segments: str | Path | Sequence[Segment] | None = None, clips: bool = True,
                 progress: Callable[[str], None] | None = None) -> Path:
    """Write ``report.html`` and ``summary.json`` into an analysis directory.

    Parameters
    ----------
    out_dir
        A directory written by ``tells analyze`` (``frames.parquet``/``frames.csv``,
        ``run.json``, and ``events.csv`` once spotting ran).
    transcript
        A WebVTT/SRT file (or parsed cues). When None, the transcript saved by an earlier
        call (``context.json``) is reused.
    segments
        A ``start,end,label`` CSV (or parsed segments); reused like ``transcript`` when None.
    clips
        Make animated event clips (thumbnails are always made when the video is reachable).
    progress
        Called with a short status line while working.

    Returns
    -------
    pathlib.Path
        The path of ``report.html``.

    Raises
    ------
    InputError
        The analysis directory, transcript or segments file is missing or malformed.
    OutputError
        The directory cannot be written.
    """
    out_dir = Path(out_dir)
    say = progress or (lambda msg: None)
    analysis = load_analysis(out_dir)
    cues, segs, sources = _context(out_dir, transcript, segments)
    say("summarising")
    annotated = annotate_events(analysis.events, cues, segs)
    summary = summarize(analysis, cues, segs, annotated=annotated)
    payload = build_payload(analysis, annotated, summary, segs, clips=clips, say=say,
                            sources=sources)
    page = render_html(payload)
    say("writing report")
    _atomic_write(out_dir / "summary.json", json.dumps(summary, indent=2, allow_nan=False) + "\n")
    if cues or segs:
        ctx = {"sources": sources, "transcript": [c.to_dict() for c in cues],
               "segments": [s.to_dict() for s in segs]}
        _atomic_write(out_dir / CONTEXT_FILE, json.dumps(ctx, indent=1) + "\n")
    path = out_dir / "report.html"
    _atomic_write(path, page)
    return path


def _context(out_dir: Path, transcript, segments) -> tuple[list[Cue], list[Segment], dict]:
    saved = {}
    if (transcript is None or segments is None) and (out_dir / CONTEXT_FILE).exists():
        try:
            saved = json.loads((out_dir / CONTEXT_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            saved = {}
    sources = dict(saved.get("sources") or {})
    if transcript is None:
        cues = [Cue(**c) for c in saved.get("transcript") or []]
    elif isinstance(transcript, str | os.PathLike):
        cues = read_transcript(transcript)
        sources["transcript"] = Path(transcript).name
    else:
        cues = list(transcript)
        sources["transcript"] = "given"
    if segments is None:
        segs = [Segment(**s) for s in saved.get("segments") or []]
    elif isinstance(segments, str | os.PathLike):
        segs = read_segments(segments)
        sources["segments"] = Path(segments).name
    else:
        segs = list(segments)
        sources["segments"] = "given"
    return cues, segs, sources


def _atomic_write(path: Path, text: str) -> None:
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be shared
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from None


def _video_src(analysis: Analysis) -> tuple[Path | None, str | None]:
    """The original video if it is on disk, and how the report should refer to it."""
    v = analysis.video_path
    if v is None:
        return None, None
    if not v.is_absolute():
        cand = [Path.cwd() / v, analysis.out_dir / v]
        v = next((c for c in cand if c.exists()), v)
    if not v.exists():
        return None, None
    v = v.resolve()
    try:
        rel = os.path.relpath(v, analysis.out_dir.resolve())
        src = Path(rel).as_posix()
    except ValueError:  # other drive on Windows
        src = v.as_uri()
    return v, src


def _face_boxes(analysis: Analysis) -> dict:
    """Per face: sorted timestamps and the matching boxes, for nearest-time lookup."""
    ff = analysis.face_frames
    out = {}
    if not all(c in ff.columns for c in ("x", "y", "width", "height")):
        return out
    for fid, rows in ff.groupby("face_id", sort=True):
        rows = rows.sort_values("timestamp")
        out[fid] = (
            rows["timestamp"].to_numpy(dtype=float),
            rows[["x", "y", "width", "height"]].to_numpy(dtype=float),
        )
    return out


def _box_at(boxes: dict, fid, t: float):
    if fid not in boxes:
        return None
    ts, bx = boxes[fid]
    i = int(np.clip(np.searchsorted(ts, t), 0, len(ts) - 1))
    if i > 0 and abs(ts[i - 1] - t) < abs(ts[i] - t):
        i -= 1
    return tuple(float(v) for v in bx[i])


def _face_thumb_times(analysis: Analysis) -> dict:
    """Per face, the time of a representative frame: the most confident, largest face."""
    ff = analysis.face_frames
    out = {}
    for fid, rows in ff.groupby("face_id", sort=True):
        score = np.ones(len(rows))
        if "confidence" in rows.columns:
            score = score * rows["confidence"].fillna(0).to_numpy(dtype=float)
        if "width" in rows.columns:
            score = score * rows["width"].fillna(0).to_numpy(dtype=float)
        out[fid] = float(rows["timestamp"].to_numpy(dtype=float)[int(np.argmax(score))])
    return out


def build_payload(analysis: Analysis, annotated: list[dict], summary: dict,
                  segments: Sequence[Segment], *, clips: bool = True,
                  say: Callable[[str], None] = lambda m: None, sources: dict | None = None
                  ) -> dict:
    """The JSON the page renders from (see ``assets/report.js`` for how it is read)."""
    duration = max(analysis.duration_s, 1e-3)
    video, video_src = _video_src(analysis)
    fps = analysis.fps or 25.0
    faces_summary = {f["face_id"]: f for f in summary["faces"]}
    notes: list[str] = []
    synthetic = analysis.run.get("synthetic")
    if isinstance(synthetic, str):
        notes.append(f"Synthetic test data: {synthetic}")
    elif synthetic:
        notes.append("This analysis is synthetic (generated test data), not a real recording.")
    for w in analysis.run.get("warnings") or []:
        notes.append(f"Analysis warning: {w}")
    if analysis.run.get("complete") is False:
        notes.append("The analysis did not finish; this report covers the part that was analysed.")

    # timelines
    say("drawing timelines")
    ff = analysis.face_frames
    aus = au_columns(analysis.frames)
    bins = int(min(TIMELINE_BINS, max(50, len(ff))))
    faces = []
    for fid in analysis.face_ids:
        rows = ff[ff["face_id"] == fid]
        t = rows["timestamp"].to_numpy(dtype=float)
        face = {"id": _jsonable(fid), **{k: v for k, v in faces_summary[fid].items()
                                        if k != "face_id"}}
        if analysis.has_emotion:
            face["emo"] = encode_u8(bin_series(t, rows[list(EMOTIONS)].to_numpy(), duration, bins), 1.0)
        if aus:
            face["au"] = encode_u8(bin_series(t, rows[aus].to_numpy(), duration, bins, "max"), 5.0)
        presence = np.ones((len(t), 1))
        face["present"] = encode_u8(bin_series(t, presence, duration, bins), 1.0)
        faces.append(face)

    # pictures
    events = [dict(e) for e in annotated]
    if video is not None and (faces or events):
        say("cutting thumbnails and clips")
        _add_media(analysis, video, faces, events, fps, clips, notes)
    elif analysis.video_path is not None and (faces or events):
        notes.append(f"The original video ({analysis.video_path.name}) was not found, so the "
                     "report has no thumbnails, clips or player.")

    seg_entries = []
    for seg, s_sum in zip(segments, summary["segments"], strict=True):
        in_seg = [e for e in events if seg.contains(e.get("apex_t") or 0.0)]
        notable = sorted(in_seg, key=lambda e: (-e["score"], e.get("apex_t") or 0))[:3]
        seg_entries.append({**seg.to_dict(), "events": s_sum["events"],
                            "notable": [e["id"] for e in notable]})
    top = [e["id"] for e in sorted(events, key=lambda e: (-e["score"], e.get("apex_t") or 0))[:10]]
    settings = analysis.run.get("settings") if isinstance(analysis.run.get("settings"), dict) else {}
    return {
        "meta": {
            "title": f"tells report: {analysis.video_path.name}" if analysis.video_path
            else "tells report",
            "video_name": analysis.video_path.name if analysis.video_path else None,
            "video_src": video_src,
            "duration": duration,
            "fps": analysis.fps,
            "tells_version": __version__,
            "analysed_by": analysis.run.get("tells_version") or analysis.run.get("version"),
            "generated": _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z"),
            "settings": settings,
            "disclaimer": DISCLAIMER,
            "sources": sources or {},
            "clip_slowdown": CLIP_SLOWDOWN,
        },
        "available": summary["available"],
        "emotions": list(EMOTIONS),
        "colors": EMOTION_COLORS,
        "au_names": aus,
        "bins": bins,
        "counts": summary["events"],
        "faces": faces,
        "events": [_jsonable_event(e) for e in events],
        "segments": seg_entries,
        "top": top,
        "notes": notes,
    }


def _add_media(analysis: Analysis, video: Path, faces: list[dict], events: list[dict],
               fps: float, clips: bool, notes: list[str]) -> None:
    boxes = _face_boxes(analysis)
    thumb_t = _face_thumb_times(analysis)
    by_score = sorted(events, key=lambda e: (-e["score"], e.get("apex_t") or 0))
    clip_events = by_score if clips else []
    requests: list[tuple[str, object, float]] = []  # (kind, target, time)
    for f in faces:
        requests.append(("face", f, thumb_t[f["id"]] if f["id"] in thumb_t else 0.0))
    for e in events:
        requests.append(("thumb", e, float(e.get("apex_t") or 0.0)))
    for e in clip_events:
        on, off = e.get("onset_t"), e.get("offset_t")
        if on is None or off is None:
            continue
        for i, t in enumerate(media.clip_times(on, off, fps)):
            requests.append((f"clip{i}", e, t))
    images = media.grab_frames(video, [r[2] for r in requests])
    budget = MEDIA_BUDGET
    clip_frames: dict[int, list] = {}
    for (kind, target, t), img in zip(requests, images, strict=True):
        if img is None:
            continue
        if kind == "face":
            uri = media.jpeg_uri(media.crop_face(img, _box_at(boxes, target["id"], t), 120))
            target["thumb"] = uri
            budget -= len(uri)
        elif kind == "thumb":
            box = _box_at(boxes, target.get("face_id"), t)
            uri = media.jpeg_uri(media.crop_face(img, box, THUMB_PX), quality=68)
            target["thumb"] = uri
            budget -= len(uri)
        else:
            clip_frames.setdefault(target["id"], []).append((t, img))
    omitted = 0
    for e in clip_events:
        frames = clip_frames.get(e["id"])
        if not frames:
            continue
        if budget <= 0:
            omitted += 1
            continue
        box = _box_at(boxes, e.get("face_id"), float(e.get("apex_t") or 0.0))
        imgs = [media.crop_face(img, box, CLIP_PX) for _, img in frames]
        step = (frames[-1][0] - frames[0][0]) / max(1, len(frames) - 1)
        ms = int(max(40, min(400, step * 1000 * CLIP_SLOWDOWN)))
        uri = media.webp_clip_uri(imgs, ms)
        e["clip"] = uri
        budget -= len(uri)
    if omitted:
        notes.append(f"Clips of the {omitted} lowest-ranked moments were left out to keep the "
                     "report small; their thumbnails and times are shown.")


def _jsonable(v):
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _jsonable_event(e: dict) -> dict:
    keep = ("id", "face_id", "kind", "emotion", "displayed_emotion", "leakage", "confidence",
            "onset_t", "apex_t", "offset_t", "duration_s", "aus", "segment", "speaker",
            "context", "score", "reasons", "thumb", "clip")
    return {k: _jsonable(e.get(k)) for k in keep if e.get(k) is not None or k in ("confidence",)}


def _script_json(obj) -> str:
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _asset(name: str) -> str:
    return resources.files("tells.report").joinpath("assets", name).read_text(encoding="utf-8")


def render_html(payload: dict) -> str:
    """The complete page for ``payload`` (one string; no external references)."""
    title = html.escape(payload["meta"]["title"])
    disclaimer = html.escape(payload["meta"]["disclaimer"])
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<meta name=\"generator\" content=\"tells {html.escape(__version__)}\">\n"
        f"<title>{title}</title>\n<style>\n{_asset('report.css')}\n</style>\n</head>\n<body>\n"
        f"<header id=\"top\"><h1>{title}</h1>"
        f"<p class=\"disclaimer\" role=\"note\">{disclaimer}</p>"
        "<dl id=\"meta\"></dl></header>\n"
        "<main id=\"app\"><p id=\"loading\">Loading report…</p>"
        "<noscript>This report needs JavaScript to draw its timelines and cards.</noscript>"
        "</main>\n"
        f"<script id=\"tells-data\" type=\"application/json\">{_script_json(payload)}</script>\n"
        f"<script>\n{_asset('report.js')}\n</script>\n</body>\n</html>\n"
    )
