"""The public Python API: :func:`analyze_video` and :func:`analyze_image`."""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from tells import __version__
from tells.config import Settings
from tells.contract import CONTRACT_VERSION
from tells.errors import InputError
from tells.face.track import observe
from tells.io import provision
from tells.io.frames import Frame
from tells.io.image import read_image, to_rgb
from tells.io.table import ensure_writable_dir, write_csv, write_json, write_parquet
from tells.io.video import open_video
from tells.pipeline import FaceStage, run


@dataclass
class VideoAnalysis:
    """What :func:`analyze_video` returns.

    Attributes
    ----------
    frames : per-frame table, one row per face per frame (output contract columns); frames
        without a face have one row with ``success == 0`` and ``face_id == -1``.
    run : the run record also written to ``run.json`` (versions, checksums, settings,
        timings, warnings).
    out_dir : where files were written, or ``None``.
    """

    frames: pd.DataFrame
    run: dict
    out_dir: Path | None = None
    events: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def complete(self) -> bool:
        return bool(self.run.get("complete"))

    @property
    def face_ids(self) -> list[int]:
        ids = self.frames.loc[self.frames["success"] == 1, "face_id"].unique()
        return sorted(int(i) for i in ids)


@dataclass
class FaceResult:
    """One face found in an image by :func:`analyze_image`."""

    box: tuple[float, float, float, float]
    confidence: float
    pose: tuple[float, float, float]
    landmarks: np.ndarray
    aligned: np.ndarray
    crop: np.ndarray
    quality: dict[str, bool]
    found_by: str = "detected"
    aus: dict[str, float] = field(default_factory=dict)
    emotions: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict:
        x, y, w, h = self.box
        lm = self.landmarks
        return {
            "box": {"x": round(x, 1), "y": round(y, 1), "width": round(w, 1),
                    "height": round(h, 1)},
            "confidence": round(self.confidence, 3),
            "pose": {"Rx": round(self.pose[0], 3), "Ry": round(self.pose[1], 3),
                     "Rz": round(self.pose[2], 3)},
            "landmarks": {"count": len(lm),
                          "left_eye_outer": [round(float(v), 1) for v in lm[263, :2]],
                          "right_eye_outer": [round(float(v), 1) for v in lm[33, :2]],
                          "nose_tip": [round(float(v), 1) for v in lm[1, :2]],
                          "mouth_left": [round(float(v), 1) for v in lm[291, :2]],
                          "mouth_right": [round(float(v), 1) for v in lm[61, :2]]},
            "quality": {k: bool(v) for k, v in self.quality.items()},
            "found_by": self.found_by,
            **({"aus": {k: round(v, 2) for k, v in self.aus.items()}} if self.aus else {}),
            **({"emotions": {k: round(v, 3) for k, v in self.emotions.items()}}
               if self.emotions else {}),
        }


def default_stages(settings: Settings, offline: bool = True) -> list[FaceStage]:
    """The per-face stages of a full analysis (FACS, emotion, spotting as they exist);
    ``offline``: of a recorded file, whose action units :func:`calibrate` corrects once the
    recording is read (live analysis passes ``False``)."""
    from tells.emotion.stage import EmotionStage
    from tells.facs.stage import AUStage
    from tells.spotting.stage import MotionStage

    aus = AUStage(offline=offline)
    return [aus, EmotionStage(aus), MotionStage()]


def model_checksums() -> dict[str, str]:
    return {name: a.sha256 for name, a in provision.MODELS.items()}


def analyze_video(
    path: str | os.PathLike,
    out_dir: str | os.PathLike | None = None,
    *,
    settings: Settings | None = None,
    on_frame: Callable[[Frame, int], None] | None = None,
    stages: list[FaceStage] | None = None,
    report: bool = True,
    transcript: str | os.PathLike | None = None,
    segments: str | os.PathLike | None = None,
    **options,
) -> VideoAnalysis:
    """Analyse every face in a video.

    Parameters
    ----------
    path : video file (mp4, mov, mkv, webm, avi, …; any codec FFmpeg decodes).
    out_dir : if given, write ``frames.csv``, ``frames.parquet`` and ``run.json`` there.
    settings : :class:`tells.config.Settings`; keyword ``options`` override single fields,
        e.g. ``analyze_video(p, max_faces=2)``.
    on_frame : callback ``(frame, n_faces)`` after each frame (progress bars).
    report : with ``out_dir``, also write ``report.html`` and ``summary.json``.
    transcript, segments : WebVTT/SRT transcript and ``start,end,label`` CSV for the report.

    Returns
    -------
    VideoAnalysis

    Examples
    --------
    >>> import tells
    >>> result = tells.analyze_video("call.mp4", "out/")          # doctest: +SKIP
    >>> result.frames.groupby("face_id").size()                    # doctest: +SKIP
    """
    settings = (settings or Settings()).with_(**options) if options else (settings or Settings())
    out = ensure_writable_dir(out_dir) if out_dir is not None else None
    if transcript is not None or segments is not None:  # fail on a bad file before the work
        from tells.insights import read_segments, read_transcript

        if transcript is not None:
            read_transcript(transcript)
        if segments is not None:
            read_segments(segments)
    started = time.time()
    source = open_video(path, max_side=settings.max_side)
    stage_list = default_stages(settings) if stages is None else stages
    try:
        table, stats = run(source, settings, stage_list, on_frame)
    finally:
        source.close()
    frames = table.to_frame()
    info = source.info
    t_cal = time.perf_counter()
    calibration = calibrate(frames, stage_list)
    cal_seconds = time.perf_counter() - t_cal
    t_spot = time.perf_counter()
    events, spot_stats = _spot(frames, stage_list)
    spot_seconds = time.perf_counter() - t_spot
    if stats.frames == 0:
        raise InputError(f"{info.path}: no frame could be decoded "
                         f"({'; '.join(info.warnings) or 'empty video stream'})")
    ok = frames["success"] == 1
    run_record = {
        "tells_version": __version__,
        "contract_version": CONTRACT_VERSION,
        "input": {"path": str(Path(info.path).resolve()), "size_bytes": Path(info.path).stat().st_size,
                  "width": info.width, "height": info.height, "fps": info.fps,
                  "duration_s": info.duration_s, "codec": info.codec, "rotation": info.rotation},
        "complete": not info.warnings,
        "warnings": list(info.warnings),
        "frames": stats.frames,
        "frames_with_face": int(frames.loc[ok, "frame"].nunique()),
        "faces": sorted(int(i) for i in frames.loc[ok, "face_id"].unique()),
        "identities": list(stats.identities),
        # per face (ids as first tracked): how far the units' evidence was raised because the
        # neutral first seen was not at rest (tells.facs.calibration)
        "au_calibration": {str(k): v for k, v in calibration.items()},
        "events": {"count": len(events),
                   "micro": int((events["kind"] == "micro").sum()) if len(events) else 0,
                   "macro": int((events["kind"] == "macro").sum()) if len(events) else 0,
                   **spot_stats},
        "models": model_checksums(),
        "settings": settings.to_dict(),
        "timings": {"seconds": round(stats.seconds, 3), "fps": round(stats.fps, 1),
                    "detector_runs": stats.detections,
                    "calibration_seconds": round(cal_seconds, 3),
                    "spotting_seconds": round(spot_seconds, 3),
                    "stages": {k: round(v, 3) for k, v in stats.stage_seconds.items()}},
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
        "platform": f"{platform.system()} {platform.machine()} Python {platform.python_version()}",
    }
    result = VideoAnalysis(frames=frames, run=run_record, out_dir=out, events=events)
    if out is not None:
        write_outputs(result, out, report=report, transcript=transcript, segments=segments)
    return result


def calibrate(frames: pd.DataFrame, stages: list[FaceStage]) -> dict[int, dict[str, float]]:
    """Correct the action units of the finished table ``frames`` in place with each face's
    resting state over the recording (:meth:`tells.facs.stage.AUStage.calibrate`; nothing
    when the stages hold no offline AU stage)."""
    from tells.facs.stage import AUStage

    aus = next((st for st in stages if isinstance(st, AUStage)), None)
    return aus.calibrate(frames) if aus is not None else {}


def _spot(frames: pd.DataFrame, stages: list[FaceStage]) -> tuple[pd.DataFrame, dict]:
    """Events from the finished table and the motion recorded by the spotting stage."""
    from tells.emotion.stage import EmotionStage
    from tells.spotting.events import EVENT_TABLE_COLUMNS, detect_events
    from tells.spotting.stage import MotionStage

    motion = next((st for st in stages if isinstance(st, MotionStage)), None)
    if motion is None:
        return pd.DataFrame(columns=EVENT_TABLE_COLUMNS), {}
    emotion = next((st for st in stages if isinstance(st, EmotionStage)), None)
    return detect_events(frames, motion.series,
                         appearance_of=emotion.appearance if emotion is not None else None)


def write_outputs(result: VideoAnalysis, out: Path, *, report: bool = True,
                  transcript=None, segments=None, progress=None) -> None:
    """Write everything ``tells analyze`` writes: the tables, ``run.json`` (after the tables,
    so its presence marks them finished), then the report and summary built from them."""
    write_parquet(result.frames, out / "frames.parquet")
    write_csv(result.frames, out / "frames.csv")
    write_csv(result.events, out / "events.csv")
    write_json({"events": result.events.to_dict(orient="records")}, out / "events.json")
    write_json(result.run, out / "run.json")
    if report:
        from tells.report import write_report

        write_report(out, transcript=transcript, segments=segments, progress=progress)


def analyze_image(image: str | os.PathLike | np.ndarray, *, settings: Settings | None = None,
                  max_faces: int = 20) -> list[FaceResult]:
    """Find and describe every face in an image.

    Parameters
    ----------
    image : a path, or an RGB uint8 array (H, W, 3) (grayscale (H, W) is accepted).

    Returns
    -------
    list of :class:`FaceResult`, largest face first.
    """
    from tells.face.still import find_faces

    settings = settings or Settings()
    if isinstance(image, np.ndarray):
        if image.ndim == 2 or (image.ndim == 3 and image.shape[2] in (1, 4)):
            rgb = to_rgb(image[..., ::-1].copy() if image.ndim == 3 and image.shape[2] == 4
                         else image.squeeze())
        elif image.ndim == 3 and image.shape[2] == 3:
            rgb = np.ascontiguousarray(image, dtype=np.uint8)
        else:
            raise InputError(f"expected an RGB image array, got shape {image.shape}")
    else:
        rgb = read_image(image)
    from tells.emotion.cnn import TIGHT_CROP_PX
    from tells.emotion.still import image_emotions
    from tells.facs.stage import image_aus

    results = []
    found = find_faces(rgb, max_faces=max_faces)
    # a tight crop of one face (a dataset crop, found only once padded, or tiny): the CNN
    # reads it as it is, framed as it was trained
    tight = len(found) == 1 and (max(rgb.shape[:2]) <= TIGHT_CROP_PX or found[0][2] == "padded")
    for lm, score, how in found:
        obs = observe(0, 0, 0.0, rgb, lm, score, settings)
        aus = image_aus(obs.aligned, obs.crop, obs.pose[1])
        results.append(FaceResult(box=obs.box, confidence=score, pose=obs.pose, landmarks=lm,
                                  aligned=obs.aligned, crop=obs.crop, quality=obs.quality,
                                  found_by=how, aus=aus,
                                  emotions=image_emotions(obs.crop, aus, obs.pose[1],
                                                          whole=rgb if tight else None)))
    results.sort(key=lambda r: -r.box[2] * r.box[3])
    return results
