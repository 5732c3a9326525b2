"""Thin wrappers over mediapipe's bundled face detector and face mesh (``mp.solutions``).

mediapipe 0.10.21 bundles the BlazeFace detectors and the 478-point attention mesh; its C++ core
logs to stderr at graph start-up, which :func:`native_stderr_silenced` hides.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


@contextmanager
def native_stderr_silenced():
    """Redirect the process's file descriptor 2 to /dev/null (native libraries log there)."""
    if os.environ.get("TELLS_DEBUG"):
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _solutions():
    with native_stderr_silenced():
        import mediapipe as mp  # noqa: F401  (heavy import, logs at load)
        from mediapipe.python.solutions import face_detection, face_mesh
    return face_detection, face_mesh


@dataclass(slots=True)
class Detection:
    """A face found by the full-range detector: box in pixels and a score in 0..1."""

    x: float
    y: float
    w: float
    h: float
    score: float

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x, self.y, self.w, self.h)


class FaceDetector:
    """BlazeFace full-range detector over a whole RGB frame (finds small and several faces)."""

    def __init__(self, min_confidence: float = 0.5, full_range: bool = True):
        fd, _ = _solutions()
        with native_stderr_silenced():
            self._det = fd.FaceDetection(model_selection=1 if full_range else 0,
                                         min_detection_confidence=min_confidence)
        self._warm = False

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        h, w = rgb.shape[:2]
        if not self._warm:
            with native_stderr_silenced():
                res = self._det.process(rgb)
            self._warm = True
        else:
            res = self._det.process(rgb)
        out = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            out.append(Detection(bb.xmin * w, bb.ymin * h, bb.width * w, bb.height * h,
                                 float(d.score[0])))
        return out

    def close(self) -> None:
        self._det.close()


# One serialised NormalizedLandmark holding x, y, z: tag, length 15, then three tagged floats.
_LANDMARK_WIRE = np.dtype([("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"),
                           ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")])


def landmarks_array(landmark_list) -> np.ndarray:
    """(N, 3) float32 from a mediapipe ``NormalizedLandmarkList``.

    Reads the serialised message with one numpy view (about 15× faster than iterating the
    protobuf objects); falls back to iteration if the wire layout is not the plain x, y, z one.
    """
    buf = landmark_list.SerializeToString()
    n = len(landmark_list.landmark)
    if len(buf) == n * _LANDMARK_WIRE.itemsize:
        rec = np.frombuffer(buf, dtype=_LANDMARK_WIRE)
        if (rec["tag"] == 0x0A).all() and (rec["len"] == 15).all() and (
                rec["tx"] == 0x0D).all() and (rec["ty"] == 0x15).all() and (rec["tz"] == 0x1D).all():
            return np.stack([rec["x"], rec["y"], rec["z"]], axis=1)
    return np.array([(p.x, p.y, p.z) for p in landmark_list.landmark], dtype=np.float32)


class FaceMesher:
    """The 478-point refined face mesh for one face.

    ``static=False`` keeps mediapipe's own frame-to-frame tracking (use one instance per tracked
    face, fed with a stable crop around it); ``static=True`` detects afresh on every call.
    Returns landmarks as (478, 3) float32 in the input's pixel units (z scaled like x).
    """

    def __init__(self, static: bool = False, min_confidence: float = 0.5):
        _, fm = _solutions()
        with native_stderr_silenced():
            self._mesh = fm.FaceMesh(static_image_mode=static, max_num_faces=1,
                                     refine_landmarks=True,
                                     min_detection_confidence=min_confidence,
                                     min_tracking_confidence=min_confidence)
            self._warm = False

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        h, w = rgb.shape[:2]
        if not self._warm:  # the landmark model loads (and logs) when a face is first found
            with native_stderr_silenced():
                res = self._mesh.process(rgb)
        else:
            res = self._mesh.process(rgb)
        if not res.multi_face_landmarks:
            return None
        self._warm = True
        arr = landmarks_array(res.multi_face_landmarks[0])
        arr[:, 0] *= w
        arr[:, 1] *= h
        arr[:, 2] *= w
        return arr

    def close(self) -> None:
        self._mesh.close()


_NATIVE_LOG_PREFIXES = (b"W0000 ", b"I0000 ", b"E0000 ", b"INFO: Created TensorFlow",
                        b"WARNING: All log messages before absl")


def install_native_log_filter() -> None:
    """Drop mediapipe's native log lines from stderr for the rest of the process.

    File descriptor 2 is pointed at a pipe read by a thread that forwards every other line;
    Python's own ``sys.stderr`` is re-opened on the original descriptor so tells' messages
    never wait on that thread. Used by the CLI; a no-op with ``TELLS_DEBUG`` set.
    """
    import threading

    if os.environ.get("TELLS_DEBUG") or getattr(install_native_log_filter, "_done", False):
        return
    try:
        sys.stderr.flush()
        original = os.dup(2)
        read_end, write_end = os.pipe()
        os.dup2(write_end, 2)
        os.close(write_end)
    except (OSError, ValueError):
        return
    sys.stderr = open(original, "w", buffering=1, encoding="utf-8", errors="replace",
                      closefd=False)

    def pump() -> None:
        with os.fdopen(read_end, "rb") as src:
            for line in src:
                if not line.startswith(_NATIVE_LOG_PREFIXES):
                    os.write(original, line)

    threading.Thread(target=pump, name="tells-native-log-filter", daemon=True).start()
    install_native_log_filter._done = True
