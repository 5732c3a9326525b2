"""Stimulus sources besides a user's pack folder (:func:`tells.trainer.packs.build_from_folder`):

- *from analyses*: events that ``tells analyze`` spotted become items, the onset frame as the
  neutral face and the apex frame as the expression; they wait for the user's review.
- *generated*: the FACS face warp (:func:`tells.facs.synth.synth_face`) turns a neutral face
  photo into the seven emotions, each from its EMFACS prototype with the units FACS lists
  beside it in full expressions (:data:`STIMULUS_CODES`) at the chosen intensities; every item
  is judged independently of the warp (:mod:`tells.trainer.judge`).

Frames are read with PyAV by frame index (decoding forward; only the wanted frames are kept).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from tells.errors import InputError
from tells.trainer.emotions import EMOTIONS, check_emotion
from tells.trainer.images import IMAGE_SUFFIXES, read_rgb
from tells.trainer.packs import Pack, Problem, add_item, file_key, finish_pack, new_pack
from tells.trainer.validate import main_face, prepare_pair

EVENT_COLUMNS = ("onset_frame", "apex_frame", "emotion")
_VIDEO_KEYS = ("video", "input", "path", "source", "video_path")


# --- from analyses ---------------------------------------------------------------------------

def read_events(analysis_dir: str | Path) -> tuple[Path, list[dict]]:
    """The analysed video and the event rows of an analysis folder."""
    d = Path(analysis_dir)
    ev, run = d / "events.csv", d / "run.json"
    if not ev.is_file():
        raise InputError(f"{d}: no events.csv; run 'tells analyze VIDEO -o {d}' first")
    if not run.is_file():
        raise InputError(f"{d}: no run.json naming the analysed video")
    try:
        meta = json.loads(run.read_text())
    except (OSError, ValueError) as exc:
        raise InputError(f"{run}: cannot read ({exc})") from None
    video = next((meta[k] for k in _VIDEO_KEYS if isinstance(meta.get(k), str)), None)
    if video is None and isinstance(meta.get("input"), dict):  # run.json of tells analyze
        video = meta["input"].get("path")
    if video is None:
        raise InputError(f"{run}: names no video (expected one of the keys {', '.join(_VIDEO_KEYS)})")
    vp = Path(video)
    if not vp.is_absolute() and not vp.is_file():
        vp = d / vp
    if not vp.is_file():
        raise InputError(f"{vp}: the analysed video is not there any more; move it back or edit {run}")
    with ev.open(newline="") as f:
        rows = list(csv.DictReader(f))
    missing = [c for c in EVENT_COLUMNS if rows and c not in rows[0]]
    if missing:
        raise InputError(f"{ev}: missing column(s) {', '.join(missing)}")
    return vp, rows


def read_frames(video: str | Path, indices: Iterable[int]) -> dict[int, np.ndarray]:
    """RGB frames of ``video`` at the given 0-based decode indices (others are not kept)."""
    import av

    wanted = sorted({int(i) for i in indices if int(i) >= 0})
    out: dict[int, np.ndarray] = {}
    if not wanted:
        return out
    try:
        with av.open(str(video)) as c:
            stream = c.streams.video[0]
            stream.thread_type = "AUTO"
            want = set(wanted)
            for i, frame in enumerate(c.decode(stream)):
                if i in want:
                    out[i] = frame.to_ndarray(format="rgb24")
                if i >= wanted[-1]:
                    break
    except (av.error.FFmpegError, IndexError) as exc:
        raise InputError(f"{video}: cannot decode the video ({exc})") from None
    return out


def _face_boxes(analysis_dir: Path) -> dict[tuple[int, str], tuple[float, float, float, float]]:
    """(frame, face_id) → box from the per-frame table, when the analysis folder has one."""
    for name in ("frames.csv", "faces.csv"):
        f = analysis_dir / name
        if f.is_file():
            out = {}
            with f.open(newline="") as fh:
                for r in csv.DictReader(fh):
                    try:
                        out[(int(float(r["frame"])), str(r.get("face_id", "0")))] = (
                            float(r["x"]), float(r["y"]), float(r["width"]), float(r["height"]))
                    except (KeyError, ValueError):
                        break
            return out
    return {}


def build_from_analysis(analysis_dir: str | Path, name: str | None = None, *,
                        library: str | Path | None = None, replace: bool = False,
                        analyze=None, progress=None, clips: bool = False,
                        consent: str | None = None) -> Pack:
    """Turn the events of an analysis folder into items waiting for review.

    Events whose emotion is not one of the seven, whose frames cannot be read, or whose onset
    and apex frames fail validation are left out and listed in ``pack.problems``. With
    ``clips``, each event becomes a video clip (a little before its onset to a little after
    its offset, :mod:`tells.trainer.clips`) instead of a still pair; clips of a recording need
    ``consent``: who agreed to their faces being used for training, recorded with each item.
    """
    if clips and not (consent or "").strip():
        raise InputError("video clips of a recording need the consent of the people in it: "
                         "add --consent 'who agreed, and when' (it is stored with each item)")
    d = Path(analysis_dir)
    video, rows = read_events(d)
    events, problems = [], []
    for n, r in enumerate(rows, start=1):
        emo = (r.get("emotion") or "").strip().lower()
        try:
            onset, apex = int(float(r["onset_frame"])), int(float(r["apex_frame"]))
        except (TypeError, ValueError):
            problems.append(Problem(f"event {n}", "onset_frame/apex_frame are not frame numbers"))
            continue
        if emo not in EMOTIONS:
            problems.append(Problem(f"event {n}", f"emotion {emo or '(none)'!r} is not one of the seven; nothing to practise"))
            continue
        if apex == onset:
            problems.append(Problem(f"event {n}", "onset and apex are the same frame"))
            continue
        events.append((n, r, emo, onset, apex))
    if not events:
        detail = f" ({problems[0].where}: {problems[0].reason})" if problems else ""
        raise InputError(f"{d}: no event to turn into an item{detail}")
    frames = read_frames(video, [e[3] for e in events] + [e[4] for e in events])
    boxes = _face_boxes(d)
    pack = new_pack(library, name or f"{video.stem}-events", "analysis", replace=replace)
    pack.problems.extend(problems)
    for n, r, emo, onset, apex in events:
        where = f"event {n} ({emo}, frames {onset}→{apex})"
        face_id = str(r.get("face_id", "0") or "0")
        if onset not in frames or apex not in frames:
            pack.problems.append(Problem(where, "frame is past the end of the video"))
            continue
        try:
            pair = prepare_pair(frames[onset], frames[apex], name=where, analyze=analyze,
                                near=boxes.get((onset, face_id)))
        except InputError as exc:
            pack.problems.append(Problem(where, str(exc)))
            continue
        aus = r.get("aus") or ""
        origin = {"video": str(video), "onset_frame": onset, "apex_frame": apex,
                  "face_id": face_id, "kind": r.get("kind"), "confidence": r.get("confidence")}
        item_id = f"ev{onset:06d}-{apex:06d}-f{face_id}"
        if clips:
            from tells.trainer.clips import MAX_CLIP_S, PAD_S, add_clip, read_span

            try:
                t_on, t_apex, t_off = (float(r[k]) for k in ("onset_t", "apex_t", "offset_t"))
                start = max(0.0, t_on - PAD_S)
                span = read_span(video, start, min(t_off + PAD_S, start + MAX_CLIP_S))
                k = int(np.argmin([abs(t - t_apex) for t, _ in span]))
                add_clip(pack, span, k, name=where, emotion=emo, aus=aus, aus_source="event",
                         face_key=f"{video.name}#{face_id}", status="pending",
                         origin={**origin, "consent": consent.strip()}, analyze=analyze,
                         near=boxes.get((onset, face_id)), item_id=item_id)
            except (KeyError, TypeError, ValueError):
                pack.problems.append(Problem(where, "no onset_t/apex_t/offset_t times to cut a clip"))
            except InputError as exc:
                pack.problems.append(Problem(where, str(exc)))
            if progress:
                progress(1)
            continue
        add_item(pack, item_id, pair, emotion=emo, aus=aus,
                 aus_source="event", face_key=f"{video.name}#{face_id}", status="pending",
                 origin=origin)
        if progress:
            progress(1)
    return finish_pack(pack, f"{d}: no usable event")


# --- generated by the face warp -------------------------------------------------------------

def intensities_to_facs(aus: dict[str, float]) -> str:
    """``{"AU12R": 1.0, "AU05": 2.0}`` → ``"5B+R12A"`` (FACS letters by rounded intensity;
    action units below A, a trace, are left out)."""
    parts = []
    for key, v in aus.items():
        code = key.removeprefix("AU")
        side = code[-1] if code[-1] in "LR" else ""
        num = int(code.rstrip("LR"))
        if round(v) >= 1:
            parts.append((num, side, f"{side}{num}{'ABCDE'[min(4, round(v) - 1)]}"))
    return "+".join(p for *_, p in sorted(parts))


#: a photo whose strongest emotion (not neutral) has at least this probability does not look
#: neutral: its items are made, with a note (the judge still checks each one against it)
NOT_NEUTRAL = 0.5
#: ... and from this probability the photo is refused (single_face.jpg and the five faces of
#: multi_face.jpg, broad smiles: happiness 0.95 and more)
REFUSE_NOT_NEUTRAL = 0.9


def looks_not_neutral(face, at_least: float = NOT_NEUTRAL) -> str | None:
    """``"happiness 0.95"`` when the face's strongest emotion is not neutral and at least
    ``at_least`` likely, else None (also when the analysis gives no emotions)."""
    probs = dict(getattr(face, "emotions", None) or {})
    top = max(probs, key=probs.get, default="neutral")
    if top == "neutral" or probs[top] < at_least:
        return None
    return f"{top} {probs[top]:.2f}"


def check_intensities(intensities: float | Iterable[float]) -> list[float]:
    """The chosen warp intensities as a list; each must be within (0, 5]."""
    vals = [intensities] if isinstance(intensities, int | float) else list(intensities)
    if not vals:
        raise InputError("give at least one intensity (0..5, e.g. 3 for C, marked)")
    for v in vals:
        if not 0 < float(v) <= 5:
            raise InputError(f"intensity {float(v):g} is out of range; use a number in (0, 5] (A=1 … E=5)")
    return list(dict.fromkeys(float(v) for v in vals))


#: what the warp shows for each emotion at a full expression (E): the EMFACS prototype with
#: the units FACS lists beside it in full expressions (anger's bared-teeth variant with
#: 10+16+25+26, disgust's raised upper lip and slightly lowered lower lip with the cheeks
#: raised and the lids tightened that the nose wrinkler brings, sadness's chin raiser, the
#: parted lips and dropped jaw of fear and surprise, happiness's open smile), each at the
#: intensity that made the bare appearance CNN read the emotion most often on neutral photos
#: of seven people (``tells train pack judge``; surprise with the outer brows up more than
#: the inner ones, which alone read as sadness; fear's brows drawn together more than they
#: rise, its lips stretched more than its jaw drops). No disgust the warp makes is named
#: disgust by that CNN (it reads anger); it names disgust on only 18 of 198 posed
#: front-view disgust photos of the Taiwanese expression photos (docs/DATA.md; anger 92),
#: so disgust is drawn as FACS describes it, not for the CNN
STIMULUS_CODES: dict[str, str] = {
    "anger": "4E+5B+7E+9C+10E+16E+25E+26C",
    "contempt": "R12E+R14E",
    "disgust": "6C+7C+9E+10E+15D+16B+25B",
    "fear": "1E+2C+4E+5E+15C+20E+25D+26B",
    "happiness": "6C+12E+25D+26B",
    "sadness": "1E+4D+15E+17C",
    "surprise": "1C+2E+5D+16C+26E",
}
#: default apex intensity of generated items: E, the full expression of
#: :data:`STIMULUS_CODES`; lower intensities scale every unit down (4 = D … 1 = A) for
#: advanced practice
DEFAULT_INTENSITY = 5.0


def stimulus_request(emotion: str, intensity: float = DEFAULT_INTENSITY) -> dict[str, float]:
    """The action units the warp is asked for: :data:`STIMULUS_CODES` scaled by
    ``intensity`` / 5 (5 = the full expression as written)."""
    from tells.facs.synth import parse_aus

    scale = float(intensity) / 5.0
    return {k: round(v * scale, 3)
            for k, v in parse_aus(STIMULUS_CODES[check_emotion(emotion)]).items()}


def photo_files(sources: Iterable[str | Path]) -> list[Path]:
    """Image files from ``sources``: files as given, folders expanded to the PNG/JPEG files
    directly inside them (sorted by name)."""
    out: list[Path] = []
    for src in sources:
        p = Path(src)
        if p.is_dir():
            found = sorted(f for f in p.iterdir()
                           if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise InputError(f"{p}: no photos in this folder (expected .png or .jpg files)")
            out.extend(found)
        else:
            out.append(p)
    return out


def build_from_photos(photos: Iterable[str | Path], name: str | None = None, *,
                      library: str | Path | None = None, replace: bool = False,
                      intensities: float | Iterable[float] = DEFAULT_INTENSITY,
                      emotions: Iterable[str] | None = None, synth: Callable | None = None,
                      analyze=None, judge: bool = True, source: str = "generated",
                      progress=None) -> Pack:
    """Make the seven emotions (or ``emotions``) at each of ``intensities`` from neutral face
    photos with the face warp.

    Each emotion's action units (:data:`STIMULUS_CODES`) are requested at the intensity. Each
    generated pair is validated like any other (a face in both, same person, registered) and
    then judged (:func:`tells.trainer.judge.judge`): an item the judge does not pass waits for
    review. The expression stays in the photo's frame, so a flash changes the face and nothing
    around it. A photo that cannot be read, holds no face or clearly does not look neutral
    (:data:`REFUSE_NOT_NEUTRAL`: the warp adds to what a face shows, so a smile would smile
    through every emotion) is left out (``pack.problems``); one that may not look neutral
    (:data:`NOT_NEUTRAL`) is used with a note. The build fails only when nothing is left.

    Parameters
    ----------
    photos : image files (PNG/JPEG) or folders of them showing a neutral face; the largest
        face is used.
    intensities : one intensity or several, each within (0, 5] (A=1 … E=5).
    emotions : a subset of :data:`~tells.trainer.emotions.EMOTIONS` (default: all seven).
    synth : the warp, default :func:`tells.facs.synth.synth_face` with its appearance changes
        and natural movement.
    analyze : face analysis, default :func:`tells.analyze_image`.
    judge : judge every item; without, all are accepted.
    source : the pack's source label.
    """
    from tells.trainer.judge import judge as judge_pair

    photos = photo_files(photos)
    if not photos:
        raise InputError("give at least one neutral face photo")
    emos = list(dict.fromkeys(check_emotion(e) for e in (emotions or EMOTIONS)))
    levels = check_intensities(intensities)
    if synth is None:
        from functools import partial

        from tells.facs.synth import synth_face

        # folds, bulges and teeth a person sees; lids, brows and eyes moving as skin does
        synth = partial(synth_face, appearance=True, natural=True)
    if analyze is None:
        from tells import analyze_image as analyze
    per_photo = len(emos) * len(levels)
    pack = new_pack(library, name or "generated", source, replace=replace)
    for photo in photos:
        try:
            img = read_rgb(photo)
            faces = list(analyze(img))
            if not faces:
                raise InputError("no face found in the photo")
            face = main_face(faces, "neutral", photo.name)
            shows = looks_not_neutral(face, REFUSE_NOT_NEUTRAL)
            if shows:
                raise InputError(f"does not look neutral ({shows}); the warp adds to what a "
                                 "face shows, so use a photo of a relaxed face")
        except InputError as exc:
            pack.problems.append(Problem(str(photo), str(exc).removeprefix(f"{photo}: ")))
            if progress:
                progress(per_photo)
            continue
        shows = looks_not_neutral(face)
        if shows:
            pack.notes.append(f"{photo.name} may not look neutral ({shows}); its items were "
                              "judged against it, check them")
        key = file_key(photo)

        def analyze_once(image, _img=img, _faces=faces):
            return _faces if image is _img else analyze(image)

        for level in levels:
            for emo in emos:
                aus = stimulus_request(emo, level)
                where = f"{photo.name} → {emo} at {level:g}"
                try:
                    expr = synth(img, aus, landmarks=face.landmarks)
                    pair = prepare_pair(img, expr, name=where, analyze=analyze_once,
                                        same_frame=True)
                except InputError as exc:
                    pack.problems.append(Problem(where, str(exc).removeprefix(f"{where}: ")))
                else:
                    origin = {"photo": str(photo), "intensity": level,
                              "identity_distance": round(pair.identity_distance, 4),
                              "misfit": round(pair.registration_residual, 4)}
                    status = "accepted"
                    if judge:
                        verdict = judge_pair(img, expr, emo, neutral_landmarks=face.landmarks)
                        origin["judge"] = verdict.to_json()
                        status = "accepted" if verdict.passed else "pending"
                    # opaque id: image URLs must not give the answer away
                    item_id = "g" + hashlib.sha256(f"{key}/{emo}/{level:g}".encode()).hexdigest()[:10]
                    add_item(pack, item_id, pair, emotion=emo, aus=intensities_to_facs(aus),
                             aus_source="warp", face_key=key, status=status, origin=origin)
                if progress:
                    progress(1)
    return finish_pack(pack, "no usable generated item")


__all__ = ["DEFAULT_INTENSITY", "STIMULUS_CODES", "build_from_analysis", "build_from_photos",
           "check_intensities", "intensities_to_facs", "looks_not_neutral", "photo_files",
           "read_events", "read_frames", "stimulus_request"]
