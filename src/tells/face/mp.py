"""Thin wrappers over mediapipe's bundled face detector and face mesh (``mp.solutions``).

mediapipe 0.10.21 bundles the BlazeFace detectors and the 478-point attention mesh; its C++ core
logs to stderr at graph start-up, which :func:`native_stderr_silenced` hides.

Per frame, the graphs are driven through :func:`run_graph` rather than
``SolutionBase.process``, which builds a new namedtuple class and parses every output into
protobuf objects on each call (about a fifth of the mesh's Python-side cost); the landmarks are
read straight from the serialised output.
"""

from __future__ import annotations

import os
import sys
import threading
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from functools import lru_cache

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


def _silenced_until(warm: bool):
    """:func:`native_stderr_silenced` until a graph is ``warm`` (its start-up logging done)."""
    return nullcontext() if warm else native_stderr_silenced()


@lru_cache(maxsize=1)
def _framework():
    from mediapipe.python import packet_creator
    from mediapipe.python._framework_bindings import _packet_getter, image_frame
    return packet_creator, _packet_getter, image_frame.ImageFormat.SRGB


def _streamable(solution, rgb: np.ndarray) -> bool:
    inputs = getattr(solution, "_input_stream_type_info", None)
    return (getattr(solution, "_graph", None) is not None and bool(inputs) and len(inputs) == 1
            and rgb.ndim == 3 and rgb.shape[2] == 3)


def send_frame(solution, rgb: np.ndarray) -> None:
    """Hand one RGB frame to a mediapipe ``SolutionBase``'s graph and return at once (the graph
    runs on its own threads); :func:`receive` waits for the result. Same graph calls and
    simulated 30 fps timestamps as ``SolutionBase.process``."""
    creator, _, srgb = _framework()
    solution._graph_outputs.clear()
    solution._simulated_timestamp += 33333
    packet = creator.create_image_frame(rgb, image_format=srgb)
    solution._graph.add_packet_to_input_stream(
        stream=next(iter(solution._input_stream_type_info)),
        packet=packet.at(solution._simulated_timestamp))


def receive(solution, output: str) -> list[bytes] | None:
    """Wait for the graph fed by :func:`send_frame`; the serialised protos of its ``output``
    stream (``None``: no output for that frame)."""
    solution._graph.wait_until_idle()
    out = solution._graph_outputs.get(output)
    if out is None or out.is_empty():
        return None
    return _framework()[1]._get_serialized_proto_list(out)


def run_graph(solution, rgb: np.ndarray, output: str) -> list[bytes] | None:
    """One frame through a mediapipe ``SolutionBase``, synchronously: the serialised protos of
    its ``output`` stream. Falls back to ``process`` if the solution's internals differ."""
    if not _streamable(solution, rgb):
        res = getattr(solution.process(rgb), output)
        return None if res is None else [m.SerializeToString() for m in res]
    send_frame(solution, rgb)
    return receive(solution, output)


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


class _FrameGraph:
    """A mediapipe solution graph fed one frame at a time: :meth:`submit` starts it (on its
    own threads once warm, so the caller can work meanwhile), :meth:`_take` gets its output
    packet bytes. Subclasses set ``_graph`` and ``_output`` and call :meth:`_reset`."""

    _graph: object
    _output: str

    def _reset(self) -> None:
        self._warm = False
        self._input: np.ndarray | None = None
        self._found: list[bytes] | None = None
        self._size = (0, 0)

    @property
    def pending(self) -> bool:
        """A frame was given to :meth:`submit` and its output not collected yet."""
        return self._input is not None

    def submit(self, rgb: np.ndarray) -> None:
        """Start the graph on ``rgb`` and return at once when it can run on its own; until
        the model has loaded, and for unusual inputs, the work is done here."""
        self._size = rgb.shape[:2]
        if self._warm and _streamable(self._graph, rgb):
            send_frame(self._graph, rgb)
            self._input, self._found = rgb, None  # the packet may share rgb's memory
            return
        self._input = None
        with _silenced_until(self._warm):
            self._found = run_graph(self._graph, rgb, self._output)
        self._ran_here()

    def _ran_here(self) -> None:
        """Called after a run done in :meth:`submit` itself."""

    def _take(self) -> list[bytes] | None:
        if self._input is not None:
            self._found = receive(self._graph, self._output)
            self._input = None
        found, self._found = self._found, None
        return found

    def close(self) -> None:
        self._graph.close()


class FaceDetector(_FrameGraph):
    """BlazeFace full-range detector over a whole RGB frame (finds small and several faces).
    :meth:`submit` starts a detection (e.g. beside the meshes), :meth:`collect` gives it."""

    _output = "detections"

    def __init__(self, min_confidence: float = 0.5, full_range: bool = True):
        fd, _ = _solutions()
        self.min_confidence, self.full_range = min_confidence, full_range
        with native_stderr_silenced():
            self._graph = fd.FaceDetection(model_selection=1 if full_range else 0,
                                           min_detection_confidence=min_confidence)
        self._reset()

    def __call__(self, rgb: np.ndarray) -> list[Detection]:
        self.submit(rgb)
        return self.collect()

    def _ran_here(self) -> None:
        self._warm = True  # the model has loaded

    def collect(self) -> list[Detection]:
        """Detections of the frame given to :meth:`submit`."""
        from mediapipe.framework.formats import detection_pb2

        found = self._take()
        h, w = self._size
        out = []
        for buf in found or []:
            d = detection_pb2.Detection.FromString(buf)
            bb = d.location_data.relative_bounding_box
            out.append(Detection(bb.xmin * w, bb.ymin * h, bb.width * w, bb.height * h,
                                 float(d.score[0])))
        return out


#: warm detectors a finished tracker handed back, by (min_confidence, full_range); at most
#: :data:`SPARE_DETECTORS` each (a graph's start-up and first frame cost ~40 ms per tracker)
_spare: dict[tuple[float, bool], list[FaceDetector]] = {}
_spare_lock = threading.Lock()
SPARE_DETECTORS = 4


def borrow_detector(min_confidence: float = 0.5, full_range: bool = True) -> FaceDetector:
    """A :class:`FaceDetector` from the process's spares, else a new one. A detector keeps no
    state from frame to frame, so a reused one finds exactly what a new one would."""
    with _spare_lock:
        spares = _spare.get((min_confidence, full_range))
        if spares:
            return spares.pop()
    return FaceDetector(min_confidence, full_range)


def give_back(det: FaceDetector) -> None:
    """Hand a detector obtained from :func:`borrow_detector` back (closed if enough spares)."""
    if det.pending:
        det.collect()
    with _spare_lock:
        spares = _spare.setdefault((det.min_confidence, det.full_range), [])
        if len(spares) < SPARE_DETECTORS:
            spares.append(det)
            return
    det.close()


# One serialised NormalizedLandmark holding x, y, z: tag, length 15, then three tagged floats.
_LANDMARK_WIRE = np.dtype([("tag", "u1"), ("len", "u1"), ("tx", "u1"), ("x", "<f4"),
                           ("ty", "u1"), ("y", "<f4"), ("tz", "u1"), ("z", "<f4")])
#: where in such a record its tag and length bytes are, and what they must be
_WIRE_TAG_AT = np.array([_LANDMARK_WIRE.fields[f][1] for f in ("tag", "len", "tx", "ty", "tz")])
_WIRE_TAGS = np.array([0x0A, 15, 0x0D, 0x15, 0x1D], np.uint8)


def landmarks_array(buf: bytes) -> np.ndarray:
    """(N, 3) float32 from a serialised mediapipe ``NormalizedLandmarkList``.

    Reads the message with one numpy view (about 15× faster than parsing it into protobuf
    objects); falls back to parsing if the wire layout is not the plain x, y, z one.
    """
    if len(buf) % _LANDMARK_WIRE.itemsize == 0:
        # the five tag and length bytes of every record checked in one comparison
        raw = np.frombuffer(buf, np.uint8).reshape(-1, _LANDMARK_WIRE.itemsize)
        if (raw[:, _WIRE_TAG_AT] == _WIRE_TAGS).all():
            rec = np.frombuffer(buf, dtype=_LANDMARK_WIRE)
            return np.stack([rec["x"], rec["y"], rec["z"]], axis=1)
    from mediapipe.framework.formats import landmark_pb2

    msg = landmark_pb2.NormalizedLandmarkList.FromString(buf)
    return np.array([(p.x, p.y, p.z) for p in msg.landmark], dtype=np.float32)


class FaceMesher(_FrameGraph):
    """The 478-point refined face mesh for one face.

    ``static=False`` keeps mediapipe's own frame-to-frame tracking (use one instance per tracked
    face, fed with a stable crop around it); ``static=True`` detects afresh on every call.
    Returns landmarks as (478, 3) float32 in the input's pixel units (z scaled like x).
    """

    # the landmark model loads (and logs) when a face is first found: warm from then on
    _output = "multi_face_landmarks"

    def __init__(self, static: bool = False, min_confidence: float = 0.5):
        _, fm = _solutions()
        with native_stderr_silenced():
            self._graph = fm.FaceMesh(static_image_mode=static, max_num_faces=1,
                                      refine_landmarks=True,
                                      min_detection_confidence=min_confidence,
                                      min_tracking_confidence=min_confidence)
        self._reset()

    def __call__(self, rgb: np.ndarray) -> np.ndarray | None:
        self.submit(rgb)
        return self.collect()

    def collect(self) -> np.ndarray | None:
        """Landmarks of the frame given to :meth:`submit` (``None``: no face)."""
        found = self._take()
        if not found:
            return None
        self._warm = True
        h, w = self._size
        arr = landmarks_array(found[0])
        arr *= np.array([w, h, w], arr.dtype)  # (the same products as column by column)
        return arr


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
