"""Finding and following every face in a stream, with stable ids.

Each tracked face has its own mediapipe mesh in tracking mode, fed a square crop centred on
where the face was in the previous frame (so the face barely moves inside its crop and the
mesh's own tracker holds it). The full-range detector runs over the whole frame every
``detect_interval_s``, whenever a face was lost, and on every frame while no face is tracked,
to pick up new faces. A face lost for up to ``track_keep_s`` gets its id back when it is found
again near where it was.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tells.config import Settings
from tells.face.align import aligned_crop, sharpness
from tells.face.geometry import head_pose, to_head_frame
from tells.face.mp import Detection, FaceDetector, FaceMesher
from tells.face.observation import FaceObservation

#: crop side relative to the face's landmark extent
CROP_FACTOR = 1.9


def _box_of(lm: np.ndarray) -> tuple[float, float, float, float]:
    x0, y0 = lm[:, 0].min(), lm[:, 1].min()
    return (float(x0), float(y0), float(lm[:, 0].max() - x0), float(lm[:, 1].max() - y0))


def _iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _centre(b) -> np.ndarray:
    return np.array([b[0] + b[2] / 2, b[1] + b[3] / 2])


@dataclass
class _Track:
    face_id: int
    mesher: FaceMesher
    box: tuple[float, float, float, float]
    confidence: float
    last_seen: float
    lost: bool = False


def _crop_around(image: np.ndarray, box, factor: float):
    """(square crop centred on ``box``, its x0, y0), or None when too little of it is inside."""
    h, w = image.shape[:2]
    cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
    side = factor * max(box[2], box[3], 16.0)
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1, y1 = int(min(w, cx + side / 2)), int(min(h, cy + side / 2))
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    return np.ascontiguousarray(image[y0:y1, x0:x1]), x0, y0


def _shifted(lm: np.ndarray | None, x0: int, y0: int) -> np.ndarray | None:
    if lm is not None:
        lm[:, 0] += x0
        lm[:, 1] += y0
    return lm


def mesh_in_crop(mesher: FaceMesher, image: np.ndarray, box, factor: float = CROP_FACTOR):
    """Run ``mesher`` on a square crop centred on ``box``; landmarks in image pixels."""
    got = _crop_around(image, box, factor)
    if got is None:
        return None
    crop, x0, y0 = got
    return _shifted(mesher(crop), x0, y0)


def observe(face_id: int, frame_index: int, t: float, image: np.ndarray, lm: np.ndarray,
            confidence: float, settings: Settings, scale: float = 1.0,
            gray: np.ndarray | None = None) -> FaceObservation:
    """Pose, alignment and quality for one meshed face (``lm`` in analysis pixels). With
    ``gray`` (the frame's luma), the aligned crop is gray, which is all the later stages read
    and a third of the work."""
    s, rot, trans, euler = head_pose(lm)
    crop, m = aligned_crop(image if gray is None else gray, lm, settings.crop_size)
    sharp = sharpness(crop)
    h, w = image.shape[:2]
    outside = ((lm[:, 0] < 0) | (lm[:, 0] >= w) | (lm[:, 1] < 0) | (lm[:, 1] >= h)).mean()
    box = _box_of(lm)
    src_lm = lm * scale if scale != 1.0 else lm
    quality = {
        "small": box[2] < settings.min_face_px,
        "pose": abs(euler[1]) > settings.max_yaw_rad or abs(euler[0]) > settings.max_pitch_rad,
        "blur": sharp < settings.blur_threshold,
        "partial": bool(outside > 0.02),
    }
    if scale != 1.0:
        m = m.copy()
        m[:, :2] /= scale
    return FaceObservation(
        face_id=face_id, frame=frame_index, t=t,
        box=tuple(v * scale for v in box), confidence=confidence, landmarks=src_lm,
        pose=euler, scale=s * scale, rotation=rot, translation=trans * scale,
        aligned=to_head_frame(lm, s, rot, trans), crop=crop, crop_matrix=m,
        quality=quality, sharpness=sharp,
    )


class FaceTracker:
    """Stateful multi-face tracker: ``update(frame)`` → list of :class:`FaceObservation`."""

    def __init__(self, settings: Settings | None = None):
        self.settings = settings or Settings()
        self._detector: FaceDetector | None = None
        self._tracks: list[_Track] = []
        self._pool: list[FaceMesher] = []
        self._next_id = 0
        self._last_detect = -np.inf
        self._pending: list = []
        self.detections_run = 0

    # -- helpers ---------------------------------------------------------------------------
    def _detect(self, image: np.ndarray) -> list[Detection]:
        if self._detector is None:
            self._detector = FaceDetector(self.settings.detect_confidence)
        self.detections_run += 1
        return self._detector(image)

    def _mesher(self) -> FaceMesher:
        return self._pool.pop() if self._pool else FaceMesher(static=False)

    def _release(self, track: _Track) -> None:
        self._pool.append(track.mesher)

    # -- per frame -------------------------------------------------------------------------
    def update(self, image: np.ndarray, t: float) -> list[tuple[int, np.ndarray, float]]:
        """Track faces in one RGB frame; returns ``(face_id, landmarks, confidence)`` per
        face, landmarks in the frame's pixels."""
        self.submit(image)
        return self.collect(image, t)

    def submit(self, image: np.ndarray) -> None:
        """Start meshing the tracked faces of a frame; mediapipe works on its own threads until
        :meth:`collect` (with the same frame), so the caller can do other work meanwhile."""
        self._pending = []
        for tr in self._tracks:
            if tr.lost:
                continue
            got = _crop_around(image, tr.box, CROP_FACTOR)
            if got is not None:
                tr.mesher.submit(got[0])
            self._pending.append((tr, got))

    def collect(self, image: np.ndarray, t: float) -> list[tuple[int, np.ndarray, float]]:
        """Finish the frame given to :meth:`submit`: landmarks of the tracked faces, detection
        of new ones when due; ``(face_id, landmarks, confidence)`` per face."""
        s = self.settings
        found: list[tuple[_Track, np.ndarray]] = []
        lost_now = False
        pending, self._pending = self._pending, []
        for tr, got in pending:
            lm = None if got is None else _shifted(tr.mesher.collect(), got[1], got[2])
            if lm is None:
                tr.lost = True
                lost_now = True
                continue
            tr.box, tr.last_seen = _box_of(lm), t
            found.append((tr, lm))

        active = [tr for tr, _ in found]
        if not active or lost_now or t - self._last_detect >= s.detect_interval_s:
            self._last_detect = t
            for det in self._detect(image):
                if any(_iou(det.box, tr.box) > 0.15 or
                       np.all(np.abs(_centre(det.box) - _centre(tr.box)) <
                              np.array(tr.box[2:]) / 2) for tr in active):
                    for tr in active:
                        if _iou(det.box, tr.box) > 0.15:
                            tr.confidence = det.score
                    continue
                if len(active) >= s.max_faces:
                    continue
                tr = self._lost_near(det, t)
                mesher = tr.mesher if tr else self._mesher()
                lm = mesh_in_crop(mesher, image, det.box, factor=1.6)
                if lm is None:  # the mesh disagrees with the detector: not a usable face
                    if tr is None:
                        self._pool.append(mesher)
                    continue
                if tr is None:
                    tr = _Track(self._next_id, mesher, det.box, det.score, t)
                    self._next_id += 1
                    self._tracks.append(tr)
                tr.box, tr.last_seen, tr.lost, tr.confidence = _box_of(lm), t, False, det.score
                found.append((tr, lm))
                active.append(tr)

        # merge duplicates (two tracks on one face): the older id wins
        found.sort(key=lambda p: p[0].face_id)
        kept: list[tuple[_Track, np.ndarray]] = []
        for tr, lm in found:
            if any(_iou(tr.box, k.box) > 0.5 for k, _ in kept):
                tr.lost = True
                continue
            kept.append((tr, lm))
        # forget faces lost for too long
        for tr in list(self._tracks):
            if tr.lost and t - tr.last_seen > s.track_keep_s:
                self._tracks.remove(tr)
                self._release(tr)
        return [(tr.face_id, lm, tr.confidence) for tr, lm in kept]

    def _lost_near(self, det: Detection, t: float) -> _Track | None:
        """The recently lost face nearest to a new detection, if any is close enough."""
        best, best_d = None, np.inf
        for tr in self._tracks:
            if not tr.lost or t - tr.last_seen > self.settings.track_keep_s:
                continue
            d = np.linalg.norm(_centre(det.box) - _centre(tr.box)) / max(tr.box[2], 1.0)
            if d < 1.5 and d < best_d:
                best, best_d = tr, d
        return best

    def close(self) -> None:
        for tr in self._tracks:
            tr.mesher.close()
        for m in self._pool:
            m.close()
        if self._detector is not None:
            self._detector.close()
        self._tracks, self._pool = [], []
