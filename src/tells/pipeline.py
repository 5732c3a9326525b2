"""The per-frame hot path, top to bottom: decode (ahead, in a thread) → track faces → pose, alignment, quality →
per-face stages (FACS, emotion, spotting as they arrive) → one row per face per frame.

Memory stays bounded: frames are dropped as soon as they are processed; rows go into compact
numpy blocks (:class:`tells.io.table.FrameTable`).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from tells.config import Settings
from tells.contract import GEOMETRY_COLUMNS, QUALITY_COLUMNS
from tells.face.observation import FaceObservation
from tells.face.track import FaceTracker, observe
from tells.io.frames import Frame
from tells.io.prefetch import prefetch
from tells.io.table import FrameTable

#: frames with at least this many faces have the stages' ``prepare`` work (the emotion CNN)
#: started on a worker thread; with one face the stage does it itself. On the 2-core
#: development machine the hand-over (waking the worker, the GIL passed back and forth) cost
#: more than the overlap gained for one face: alternating full-pipeline passes on
#: WolfgangLanger_Pexels.mp4 in one process (load 2.8), 193 fps median with the worker, 203
#: without, and 5% less process CPU a frame; with two faces (multi_face.avi) the two were
#: level (77 and 76 fps).
PREPARE_FROM_FACES = 2
#: frames decoded ahead that the tracker looks at early (for whole-frame detections), at most
#: ``ahead - 1`` (live analysis, ``ahead=1``, looks at none: it would wait for frames)
DETECT_AHEAD = 2


class FaceStage(Protocol):
    """A per-face processing stage. ``columns`` it adds to the per-frame table; called once per
    face per frame in time order; ``finish()`` after the last frame. A stage may also have
    ``prepare(obs, submit)``, called for every face of a frame before the stages run on it,
    to start work on a worker thread (``submit(fn, *args)`` returns a future)."""

    columns: list[str]

    def __call__(self, obs: FaceObservation) -> dict[str, float]: ...

    def finish(self) -> None: ...


@dataclass
class RunStats:
    frames: int = 0
    face_rows: int = 0
    detections: int = 0
    seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)
    #: the tracker's identity decisions (:attr:`tells.face.track.FaceTracker.identity_log`)
    identities: list[dict] = field(default_factory=list)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def geometry_row(obs: FaceObservation) -> dict[str, float]:
    x, y, w, h = obs.box
    q = obs.quality
    return {
        "frame": obs.frame, "timestamp": obs.t, "face_id": obs.face_id,
        "confidence": obs.confidence, "success": 1, "x": x, "y": y, "width": w, "height": h,
        "pose_Rx": obs.pose[0], "pose_Ry": obs.pose[1], "pose_Rz": obs.pose[2],
        "q_small": q["small"], "q_pose": q["pose"], "q_blur": q["blur"],
        "q_partial": q["partial"], "sharpness": obs.sharpness,
    }


def run(frames: Iterable[Frame], settings: Settings, stages: list[FaceStage] | None = None,
        on_frame: Callable[[Frame, int], None] | None = None,
        on_row: Callable[[dict[str, float]], None] | None = None,
        ahead: int = 8) -> tuple[FrameTable, RunStats]:
    """Process a frame stream. ``on_frame(frame, n_faces)`` is called after each frame,
    ``on_row(row)`` after each row is added to the table (live analysis reads them as they
    come); ``ahead`` is how many frames are decoded ahead with ``settings.overlap``.

    With ``settings.overlap`` the work is pipelined one frame deep: frames are decoded ahead in
    a thread, and the face meshes of frame *n + 1* run on mediapipe's threads while this thread
    does pose, alignment and the per-face stages of frame *n* (meshing frame *n + 1* needs only
    where the faces were in frame *n*). A whole-frame detection that looks due on a frame
    ``DETECT_AHEAD`` frames ahead (already decoded) is started then, on a detector graph of
    its own, so it runs beside the work on the frames before it (a detector keeps no state:
    the same detections; live analysis, ``ahead=1``, does not wait for frames to look ahead). OpenCV and the BLAS under numpy are held to one thread
    for the run: on these small arrays their thread pools only spin against mediapipe and the
    decode thread (they took a third of this thread's time, measured with py-spy). Stages
    that have ``prepare(obs, submit)`` (emotion: the CNN) are handed the faces of a frame with
    :data:`PREPARE_FROM_FACES` faces or more first and start that work on a worker thread (it
    releases the GIL), so it runs beside this thread's work, the FACS stage's optical flow
    included (which releases the GIL too); with fewer faces this thread does it in the stage
    itself. Their rows are the same either way.
    """
    import cv2
    from threadpoolctl import threadpool_limits

    cv2.setNumThreads(1)
    stages = stages or []
    columns = GEOMETRY_COLUMNS + QUALITY_COLUMNS + [c for st in stages for c in st.columns]
    table = FrameTable(columns)
    stats = RunStats(stage_seconds={type(st).__name__: 0.0 for st in stages})
    tracker = FaceTracker(settings)
    clock = time.perf_counter

    # stages with ``prepare(obs, submit)`` start their GIL-free work (the CNN) on this worker
    # for all faces of a frame, then this thread does the rest
    preparing = [st for st in stages if hasattr(st, "prepare")] if settings.overlap else []
    worker = ThreadPoolExecutor(1, thread_name_prefix="tells-stages") if preparing else None

    def emit(frame: Frame, faces: list) -> None:
        if not faces:  # keep the timeline complete
            empty = {"frame": frame.index, "timestamp": frame.t, "face_id": -1, "success": 0}
            table.append(empty)
            if on_row is not None:
                on_row(empty)
        observed = [observe(face_id, frame.index, frame.t, frame.image, lm, conf, settings,
                            frame.scale, frame.gray) for face_id, lm, conf in faces]
        handing = preparing if len(observed) >= PREPARE_FROM_FACES else ()
        for st in handing:
            t0 = clock()
            for obs in observed:
                st.prepare(obs, worker.submit)
            stats.stage_seconds[type(st).__name__] += clock() - t0
        if handing:
            # hand the GIL over for a moment: the worker, woken by the submit, waits for it to
            # take up its first job; without this it often waited until this thread released
            # the GIL for long (a frame without skin-motion flow has no such call) or until
            # the switch interval (5 ms), by when the stage had taken the job back
            time.sleep(0)
        for obs in observed:
            row = geometry_row(obs)
            for st in stages:
                t0 = clock()
                row.update(st(obs))
                stats.stage_seconds[type(st).__name__] += clock() - t0
            table.append(row)
            if on_row is not None:
                on_row(row)
            stats.face_rows += 1
        stats.frames += 1
        if on_frame is not None:
            on_frame(frame, len(faces))

    start = clock()
    previous: tuple[Frame, list] | None = None
    blas = threadpool_limits(limits=1, user_api="blas")
    try:
        for frame in _looking_ahead(prefetch(frames, ahead) if settings.overlap else frames,
                                    min(DETECT_AHEAD, ahead - 1) if settings.overlap else 0,
                                    tracker.plan):
            tracker.submit(frame.image, frame.t)
            if previous is not None:  # while the meshes of this frame run
                emit(*previous)
                previous = None
            faces = tracker.collect(frame.image, frame.t)
            if settings.overlap:
                previous = (frame, faces)
            else:
                emit(frame, faces)
        if previous is not None:
            emit(*previous)
        _relabel(table, tracker.relabels)
        for st in stages:
            st.finish()
    finally:
        if worker is not None:
            worker.shutdown()
        blas.restore_original_limits()
        stats.detections = tracker.detections_run
        stats.identities = tracker.identity_log
        tracker.close()
        stats.seconds = clock() - start
    return table, stats


def _looking_ahead(frames: Iterable[Frame], n: int,
                   plan: Callable[[np.ndarray, float], None]) -> Iterator[Frame]:
    """``frames``, with each one handed to ``plan(image, t)`` when it is ``n`` frames ahead
    of the one yielded (so the tracker can start a whole-frame detection on it early)."""
    if n <= 0:
        yield from frames
        return
    window: deque[Frame] = deque()
    for frame in frames:
        window.append(frame)
        if len(window) > n:
            plan(frame.image, frame.t)
            yield window.popleft()
    while window:
        yield window.popleft()


def _relabel(table: FrameTable, relabels: list[tuple[int, int, float, float]]) -> None:
    """Give rows the id the tracker found out later they belong to (``(id, new id, from t,
    to t)``: a provisional id that was an earlier person, or a track that had slid onto
    someone else)."""
    col, tcol = table._index["face_id"], table._index["timestamp"]
    for old, new, t0, t1 in relabels:
        for block in table._blocks:
            hit = (block[:, col] == old) & (block[:, tcol] >= t0) & (block[:, tcol] < t1)
            block[hit, col] = new
