"""Finding and following every face in a stream, with stable ids.

Each tracked face has its own mediapipe mesh in tracking mode, fed a square crop centred on
where the face was in the previous frame (so the face barely moves inside its crop and the
mesh's own tracker holds it). The full-range detector runs over the whole frame every
``detect_interval_s`` and on every frame while no face is tracked, to pick up new faces.

When a face is lost (it turned away, was hidden, blurred), it is looked for again at once:
on that frame and every frame after, for ``lost_search_s``, the detector runs on an enlarged
crop of the region where it was (small and turned faces are found there that the whole-frame
pass misses), and the whole frame is searched every ``lost_detect_interval_s``. Found near
where it was within ``track_keep_s``, it keeps its id.

While the whole-frame passes find no one new and no face is lost, the interval between them
doubles, up to ``detect_interval_max_s`` (a steady scene needs fewer of them; each costs the
CPU of two or three meshes); anyone new, or a face lost, brings it back to
``detect_interval_s``. A detection due on a frame is started early where the caller allows:
:meth:`FaceTracker.submit` starts it beside the meshes, :meth:`FaceTracker.plan` on a frame
decoded ahead, so it runs beside the work on the frames before.

A face that appears anywhere else, or after a longer gap, is compared by appearance with the
people seen so far (:mod:`tells.face.reid`, :mod:`tells.face.descriptor`): it gets its
earlier id when the descriptor says so clearly, else a new id, and the doubt is recorded in
:attr:`FaceTracker.identity_log`. Descriptors are computed when a face appears or comes back
and at a few spaced moments of each track (``DESCRIBE_AT_S``), at most one per frame, never
on every frame; with ``Settings.overlap`` the scheduled ones run on a worker thread and count
``REFRESH_LAG`` frames later. Faces turned beyond the pose limit stay tracked while the mesh
holds them; their rows carry ``q_pose``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tells.config import Settings
from tells.face.align import aligned_crop, sharpness
from tells.face.geometry import head_pose, to_head_frame
from tells.face.mp import Detection, FaceDetector, FaceMesher, borrow_detector, give_back
from tells.face.observation import FaceObservation
from tells.face.reid import Decision, Gallery

#: crop side relative to the face's landmark extent
CROP_FACTOR = 1.9


def _extent(lm: np.ndarray) -> tuple:
    """``(x min, y min, x max, y max)`` of the mesh (one reduction per column: faster than
    one over axis 0 of the (N, 3) array)."""
    return lm[:, 0].min(), lm[:, 1].min(), lm[:, 0].max(), lm[:, 1].max()


def _box_of(lm: np.ndarray, extent=None) -> tuple[float, float, float, float]:
    x0, y0, x1, y1 = _extent(lm) if extent is None else extent
    return (float(x0), float(y0), float(x1 - x0), float(y1 - y0))


def _iou(a, b) -> float:
    ax1, ay1, bx1, by1 = a[0] + a[2], a[1] + a[3], b[0] + b[2], b[1] + b[3]
    iw = max(0.0, min(ax1, bx1) - max(a[0], b[0]))
    ih = max(0.0, min(ay1, by1) - max(a[1], b[1]))
    inter = iw * ih
    union = a[2] * a[3] + b[2] * b[3] - inter
    return inter / union if union > 0 else 0.0


def _centre(b) -> np.ndarray:
    return np.array([b[0] + b[2] / 2, b[1] + b[3] / 2])


#: track ages (s) at which a descriptor of the face is taken for re-identification; after
#: the last, one every ``DESCRIBE_EVERY_S``
DESCRIBE_AT_S = (0.3, 2.0, 8.0)
DESCRIBE_EVERY_S = 10.0
#: with ``Settings.overlap``, a descriptor taken on schedule (not a check) is computed on a
#: worker thread while tracking goes on, and counts this many frames later (a fixed lag, so
#: every run decides the same; at 4 frames the tracker still waited for most of the ~25 ms
#: descriptor on the shared 2-core machine)
REFRESH_LAG = 12
#: a tracked face whose descriptor is this far from its person's is someone else (a cut, or
#: the mesh slid onto a neighbour): it gets an id of its own
SPLIT_DISTANCE = 0.75
#: a jump of the box this large (relative to its width) in one frame triggers that check
JUMP = 0.35
#: ... and it takes this many descriptors, this far apart (s), all that far, to split (one
#: blurred view is not enough); the rows since the first of them get the new id
SPLIT_VIEWS, SPLIT_EVERY_S = 3, 0.15
#: crop side, relative to the face, searched for a lost face
SEARCH_FACTOR = 2.8
#: minimum detector score inside the search region (the region already says where to look)
SEARCH_CONFIDENCE = 0.35
#: a track whose id is in doubt is looked at again this often, for this long
DOUBT_EVERY_S, DOUBT_FOR_S = 0.25, 3.0
#: whole-frame detections that :meth:`FaceTracker.plan` may have in flight at once
EARLY_DETECTIONS = 2


@dataclass
class _Track:
    face_id: int
    mesher: FaceMesher
    box: tuple[float, float, float, float]
    confidence: float
    last_seen: float
    started: float = 0.0
    lost: bool = False
    described: int = 0  # how many of DESCRIBE_AT_S are done
    descriptor: np.ndarray | None = field(default=None, repr=False)  # the latest
    #: its id is in doubt (a new id given while someone absent looked alike): look again
    doubt: bool = False
    samples: list = field(default_factory=list, repr=False)  # this track's descriptors
    last_check: float = 0.0
    seen_with: set = field(default_factory=set)  # ids on screen at the same time
    check_now: bool = False  # the box jumped: is it still the same person?
    suspect: list = field(default_factory=list, repr=False)  # (t, descriptor) far from its id

    def describe_due(self, t: float) -> bool:
        age = t - self.started
        if self.described < len(DESCRIBE_AT_S):
            return age >= DESCRIBE_AT_S[self.described]
        extra = self.described - len(DESCRIBE_AT_S) + 1
        return age >= DESCRIBE_AT_S[-1] + extra * DESCRIBE_EVERY_S


def _jumped(old, new) -> bool:
    w = max(old[2], 1.0)
    return bool(np.linalg.norm(_centre(new) - _centre(old)) / w > JUMP
                or abs(new[2] - old[2]) / w > JUMP)


def _frontal(lm: np.ndarray) -> bool:
    """Near enough to frontal for a descriptor: nose tip between the eyes, roughly."""
    eye_r, eye_l, nose = lm[33, :2], lm[263, :2], lm[1, :2]
    span = float(np.linalg.norm(eye_l - eye_r))
    if span < 1:
        return False
    mid = (eye_l + eye_r) / 2
    return abs(float(np.dot(nose - mid, (eye_l - eye_r) / span))) / span < 0.22


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
    extent = _extent(lm)
    if extent[0] >= 0 and extent[1] >= 0 and extent[2] < w and extent[3] < h:
        outside = 0.0  # the whole mesh is inside the frame
    else:
        outside = ((lm[:, 0] < 0) | (lm[:, 0] >= w) | (lm[:, 1] < 0) | (lm[:, 1] >= h)).mean()
    box = _box_of(lm, extent)
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

    def __init__(self, settings: Settings | None = None, gallery: Gallery | None = None):
        self.settings = settings or Settings()
        #: whole-frame detector graphs (a second one only while one is busy with a frame ahead)
        self._detectors: list[FaceDetector] = []
        self._region_detector: FaceDetector | None = None
        self._describer = None
        self._worker = None  # thread computing scheduled descriptors
        #: (track, future descriptor, t, frame count, ids on screen, chip) of the one in flight
        self._refresh: tuple | None = None
        self._frames = 0
        self._tracks: list[_Track] = []
        self._pool: list[FaceMesher] = []
        self.gallery = gallery or Gallery(self.settings)
        self._next_id = max(self.gallery.identities, default=-1) + 1
        self._last_detect = -np.inf
        #: whole-frame passes in a row that found no one new while no face was lost
        self._quiet = 0
        self._pending: list = []
        #: whole-frame detections started before their frame was collected (by
        #: :meth:`submit` or :meth:`plan`): ``(image, t, detector)``, in frame order
        self._early: list[tuple[np.ndarray, float, FaceDetector]] = []
        self._described_this_frame = False
        self.detections_run = 0
        self.descriptors_run = 0
        #: ``(id, new id, from t, to t)``: rows of ``id`` in that time span belong to ``new
        #: id`` (found out later: a provisional id that was an earlier person, or a track
        #: that had slid onto someone else); the tracker carries the new id from ``to t`` on
        self.relabels: list[tuple[int, int, float, float]] = []

    @property
    def identity_log(self) -> list[dict]:
        """Every identity decision: new person, came back, resumed, with distances and
        whether it was certain."""
        return self.gallery.log

    # -- helpers ---------------------------------------------------------------------------
    def _detect(self, image: np.ndarray) -> list[Detection]:
        self.detections_run += 1
        for k, (early, _, det) in enumerate(self._early):
            if early is image:  # started beside earlier work
                del self._early[k]
                return det.collect()
        return self._free_detector()(image)

    def _free_detector(self) -> FaceDetector:
        """A whole-frame detector with no frame in flight (made when none is free)."""
        busy = {id(det) for _, _, det in self._early}
        for det in self._detectors:
            if id(det) not in busy:
                return det
        self._detectors.append(borrow_detector(self.settings.detect_confidence))
        return self._detectors[-1]

    def _start_detection(self, image: np.ndarray, t: float) -> None:
        det = self._free_detector()
        det.submit(image)
        self._early.append((image, t, det))

    def _searched(self, t: float) -> list:
        """The lost tracks still looked for at ``t`` (lost within ``lost_search_s``)."""
        return [tr for tr in self._tracks
                if tr.lost and t - tr.last_seen <= self.settings.lost_search_s]

    def _early_for(self, image: np.ndarray) -> bool:
        return any(early is image for early, _, _ in self._early)

    def plan(self, image: np.ndarray, t: float) -> None:
        """A frame that :meth:`submit` and :meth:`collect` will get later (decoded ahead):
        if a whole-frame detection looks due on it, it is started now on a detector graph of
        its own, so it runs beside the work on the frames before. :meth:`collect` takes it
        when it reaches that frame if it is due then (a detector keeps no state, so these
        are the detections it would run itself) and drops it otherwise; a detection due but
        not foreseen is run then, as without planning."""
        if not self._detectors or len(self._early) >= EARLY_DETECTIONS or \
                self._early_for(image):
            return
        last = max([self._last_detect] + [et for _, et, _ in self._early])
        active = sum(1 for tr in self._tracks if not tr.lost)
        if self._detection_due(t, active, bool(self._searched(t)), last):
            self._start_detection(image, t)

    def _detection_due(self, t: float, active: int, searching: bool,
                       last: float | None = None) -> bool:
        """Is a whole-frame detection due at ``t``, with ``active`` faces tracked and a lost
        one being ``searching`` for (``last``: the time of the last one, if not the last run)?"""
        s = self.settings
        last = self._last_detect if last is None else last
        steady = min(s.detect_interval_s * 2.0 ** self._quiet,
                     max(s.detect_interval_s, s.detect_interval_max_s))
        interval = (s.lost_detect_interval_s if searching
                    or (s.expected_faces and active < self._limit) else steady)
        if s.expected_faces and active >= self._limit:
            interval = np.inf  # everyone expected is on screen: no one new to look for
        return not active or t - last >= interval

    def _detect_in(self, image: np.ndarray, box) -> list[Detection]:
        """Detections inside an enlarged square around ``box`` (frame pixels)."""
        got = _crop_around(image, box, SEARCH_FACTOR)
        if got is None:
            return []
        crop, x0, y0 = got
        if self._region_detector is None:
            self._region_detector = borrow_detector(SEARCH_CONFIDENCE)
        self.detections_run += 1
        return [Detection(d.x + x0, d.y + y0, d.w, d.h, d.score)
                for d in self._region_detector(crop)]

    def _mesher(self) -> FaceMesher:
        return self._pool.pop() if self._pool else FaceMesher(static=False)

    def _release(self, track: _Track) -> None:
        self._pool.append(track.mesher)

    def _describe(self, image: np.ndarray, lm: np.ndarray) -> np.ndarray | None:
        if not self.settings.reid:
            return None
        from tells.face.descriptor import face_chip, shared_descriptor

        if self._describer is None:
            self._describer = shared_descriptor()
        self.descriptors_run += 1
        self._described_this_frame = True
        return self._describer(face_chip(image, lm))

    @property
    def _limit(self) -> int:
        s = self.settings
        return min(s.max_faces, s.expected_faces) if s.expected_faces else s.max_faces

    # -- per frame -------------------------------------------------------------------------
    def update(self, image: np.ndarray, t: float) -> list[tuple[int, np.ndarray, float]]:
        """Track faces in one RGB frame; returns ``(face_id, landmarks, confidence)`` per
        face, landmarks in the frame's pixels."""
        self.submit(image, t)
        return self.collect(image, t)

    def submit(self, image: np.ndarray, t: float | None = None) -> None:
        """Start meshing the tracked faces of a frame; mediapipe works on its own threads until
        :meth:`collect` (with the same frame), so the caller can do other work meanwhile.
        With the frame's time ``t``, a whole-frame detection that will be due is started
        too (the same detections :meth:`collect` would otherwise run itself)."""
        self._pending = []
        for tr in self._tracks:
            if tr.lost:
                continue
            got = _crop_around(image, tr.box, CROP_FACTOR)
            if got is not None:
                tr.mesher.submit(got[0])
            self._pending.append((tr, got))
        if t is not None and self._detectors and not self._early_for(image):
            if self._detection_due(t, len(self._pending), bool(self._searched(t))):
                self._start_detection(image, t)

    def collect(self, image: np.ndarray, t: float) -> list[tuple[int, np.ndarray, float]]:
        """Finish the frame given to :meth:`submit`: landmarks of the tracked faces, search for
        lost ones and detection of new ones when due; ``(face_id, landmarks, confidence)``
        per face."""
        s = self.settings
        self._described_this_frame = False
        self._frames += 1
        found: list[tuple[_Track, np.ndarray]] = []
        pending, self._pending = self._pending, []
        for tr, got in pending:
            lm = None if got is None else _shifted(tr.mesher.collect(), got[1], got[2])
            if lm is None:
                tr.lost, self._quiet = True, 0
                continue
            box = _box_of(lm)
            tr.check_now |= _jumped(tr.box, box)
            tr.box, tr.last_seen = box, t
            found.append((tr, lm))
        active = [tr for tr, _ in found]

        # lost faces: look where they were, on this frame already
        searching = self._searched(t)
        for tr in searching:
            if len(active) >= self._limit:
                break
            for det in sorted(self._detect_in(image, tr.box), key=lambda d: -d.score):
                if self._taken(det, active):
                    continue
                if self._resume(tr, det, image, t, found, active):
                    break

        # the whole frame: new faces, and lost ones that moved
        if self._detection_due(t, len(active), any(tr.lost for tr in searching)):
            self._last_detect = t
            self._quiet += 1
            for det in self._detect(image):
                if self._taken(det, active, refresh=True) or len(active) >= self._limit:
                    continue
                self._quiet = 0  # someone new (or back): look again soon
                tr = self._lost_near(det, t)
                if tr is not None and self._resume(tr, det, image, t, found, active):
                    continue
                self._start(det, image, t, found, active)

        # merge duplicates (two tracks on one face): the older id wins
        found.sort(key=lambda p: p[0].face_id)
        kept: list[tuple[_Track, np.ndarray]] = []
        for tr, lm in found:
            if any(_iou(tr.box, k.box) > 0.5 for k, _ in kept):
                tr.lost, self._quiet = True, 0
                continue
            kept.append((tr, lm))
        on_screen = {tr.face_id for tr, _ in kept}
        for tr, _ in kept:
            tr.seen_with |= on_screen - {tr.face_id}
        if self._refresh is not None and self._frames - self._refresh[3] >= REFRESH_LAG:
            self._finish_refresh()
        # spaced descriptors of the faces on screen, at most one a frame; doubtful ids first
        if s.reid and not self._described_this_frame:
            for tr, lm in sorted(kept, key=lambda p: not p[0].doubt):
                if tr.doubt and t - tr.started > DOUBT_FOR_S:
                    tr.doubt = False  # stays a person of its own
                if tr.doubt and t - tr.last_check >= DOUBT_EVERY_S and tr.box[2] >= 24:
                    self._look_again(tr, image, lm, t, on_screen)
                    break
                if tr.suspect and t - tr.suspect[-1][0] < SPLIT_EVERY_S:
                    continue
                if (tr.check_now or tr.describe_due(t)) and tr.box[2] >= 40 and _frontal(lm):
                    if self._refresh is not None and self._refresh[0] is tr:
                        continue  # its scheduled descriptor is being computed
                    if not tr.check_now and s.overlap and self._refresh is None:
                        self._start_refresh(tr, image, lm, t, on_screen)
                    else:
                        self._describe_track(tr, image, lm, t, on_screen)
                    break
        while self._early and self._early[0][1] <= t:  # started early but not due after all
            self._early.pop(0)[2].collect()
        # forget tracks lost for too long (their identities stay in the gallery)
        keep_s = max(s.track_keep_s, s.lost_search_s)
        for tr in list(self._tracks):
            if tr.lost and t - tr.last_seen > keep_s:
                self._tracks.remove(tr)
                self._release(tr)
        return [(tr.face_id, lm, tr.confidence) for tr, lm in kept]

    def _taken(self, det: Detection, active: list[_Track], refresh: bool = False) -> bool:
        """Is ``det`` a face already tracked this frame? (``refresh``: take its score.)"""
        hit = False
        for tr in active:
            if _iou(det.box, tr.box) > 0.15 or np.all(
                    np.abs(_centre(det.box) - _centre(tr.box)) < np.array(tr.box[2:]) / 2):
                hit = True
                if refresh and _iou(det.box, tr.box) > 0.15:
                    tr.confidence = det.score
        return hit

    def _resume(self, tr: _Track, det: Detection, image, t: float, found, active) -> bool:
        """Pick up lost track ``tr`` on detection ``det`` if the mesh holds and the face still
        looks like the same person (checked at once when frontal, else at the next frontal
        frame). A different face where the lost one was starts a track of its own."""
        lm = mesh_in_crop(tr.mesher, image, det.box, factor=1.6)
        if lm is None:
            return False
        ident = self.gallery.identities.get(tr.face_id)
        if self.settings.reid and ident is not None and ident.descriptors:
            if _box_of(lm)[2] >= 40 and _frontal(lm):
                d = self._describe(image, lm)
                if ident.distance(d) > SPLIT_DISTANCE:  # someone else where the lost face was
                    self._tracks.remove(tr)
                    self._start(det, image, t, found, active, mesher=tr.mesher, lm=lm,
                                descriptor=d)
                    return True
            else:
                tr.check_now = True
        tr.box, tr.last_seen, tr.lost, tr.confidence = _box_of(lm), t, False, det.score
        found.append((tr, lm))
        active.append(tr)
        return True

    def _start(self, det: Detection, image, t: float, found, active,
               mesher: FaceMesher | None = None, lm: np.ndarray | None = None,
               descriptor: np.ndarray | None = None) -> None:
        """A face not tracked now: mesh it (unless ``lm`` is given, meshed by ``mesher``),
        then decide its id (earlier or new)."""
        if lm is None:
            mesher = self._mesher()
            lm = mesh_in_crop(mesher, image, det.box, factor=1.6)
            if lm is None:  # the mesh disagrees with the detector: not a usable face
                self._pool.append(mesher)
                return
        present = {tr.face_id for tr in active}
        decision = Decision(None, float("inf"), float("inf"), False, "first person")
        if self.gallery.identities.keys() - present and self.settings.reid:
            if descriptor is None and det.w >= 24:
                descriptor = self._describe(image, lm)
            decision = self.gallery.decide(descriptor, present)
        if decision.face_id is not None:
            face_id, kind = decision.face_id, "returned"
            for old in [o for o in self._tracks if o.face_id == face_id]:
                self._tracks.remove(old)  # a lost track of the same person
                self._release(old)
        else:
            face_id, kind = self._next_id, "new"
            self._next_id += 1
        tr = _Track(face_id, mesher, _box_of(lm), det.score, t, started=t,
                    doubt=decision.face_id is None and decision.uncertain, last_check=t)
        if descriptor is not None:
            tr.descriptor = descriptor
            tr.samples.append(descriptor)
            if not decision.uncertain:  # a doubtful match does not teach the gallery
                self.gallery.add(face_id, descriptor)
        self.gallery.add(face_id)
        self.gallery.record(t, face_id, decision, kind)
        self._tracks.append(tr)
        found.append((tr, lm))
        active.append(tr)

    def _start_refresh(self, tr: _Track, image, lm, t: float, on_screen: set[int]) -> None:
        """Start a scheduled descriptor of ``tr`` on the worker thread (numpy's matrix
        products release the GIL); :meth:`_finish_refresh` takes it ``REFRESH_LAG`` frames
        later."""
        from concurrent.futures import ThreadPoolExecutor

        from tells.face.descriptor import face_chip, shared_descriptor

        if self._describer is None:
            self._describer = shared_descriptor()
        if self._worker is None:
            self._worker = ThreadPoolExecutor(1, thread_name_prefix="tells-describe")
        self.descriptors_run += 1
        self._described_this_frame = True
        chip = face_chip(image, lm)
        self._refresh = (tr, self._worker.submit(self._describer, chip), t, self._frames,
                         set(on_screen), chip)

    def _finish_refresh(self) -> None:
        """The scheduled descriptor in flight, handled as :meth:`_describe_track` would have
        at the moment it was taken."""
        tr, future, t, _, on_screen, chip = self._refresh
        self._refresh = None
        # not started yet (a busy machine): taken back and computed here
        d = self._describer(chip) if future.cancel() else future.result()
        if not any(x is tr for x in self._tracks):
            return
        jumped = tr.check_now  # the box jumped meanwhile: that still gets its check
        self._describe_track(tr, None, None, t, on_screen, d)
        tr.check_now |= jumped

    def _describe_track(self, tr: _Track, image, lm, t: float, on_screen: set[int],
                        d: np.ndarray | None = None) -> None:
        """A descriptor of a tracked face (``d``, else taken now): it joins its person's,
        unless it is plainly someone else, who then gets an id of their own (an earlier one
        or a new one)."""
        if d is None:
            d = self._describe(image, lm)
        ident = self.gallery.identities.get(tr.face_id)
        due = tr.describe_due(t)
        tr.check_now = False
        if ident is not None and ident.descriptors and ident.distance(d) > SPLIT_DISTANCE:
            tr.suspect.append((t, d))
            tr.check_now = True
            if len(tr.suspect) < SPLIT_VIEWS:
                return
            since = tr.suspect[0][0]
            d = np.mean([v for _, v in tr.suspect], axis=0)
            tr.suspect, tr.check_now = [], False
            if ident.distance(d) <= SPLIT_DISTANCE:
                return
            old = tr.face_id
            present = on_screen | {old}
            decision = self.gallery.decide(d, present)
            if decision.face_id is None:
                tr.face_id = self._next_id
                self._next_id += 1
            else:
                tr.face_id = decision.face_id
            decision.note = (f"the face tracked as {old} is someone else (distance "
                             f"{ident.distance(d):.2f} from {old}): {decision.note}")
            self.relabels.append((old, tr.face_id, since, t))
            tr.started, tr.described, tr.samples, tr.seen_with = t, 1, [d], set()
            tr.doubt = decision.face_id is None and decision.uncertain
            tr.last_check, tr.descriptor = t, d
            if not decision.uncertain:
                self.gallery.add(tr.face_id, d)
            self.gallery.add(tr.face_id)
            self.gallery.record(t, tr.face_id, decision, "split")
            return
        tr.descriptor, tr.suspect = d, []
        if due:
            self.gallery.add(tr.face_id, d)
            tr.described += 1

    def _look_again(self, tr: _Track, image, lm, t: float, on_screen: set[int]) -> None:
        """One more descriptor of a track whose id is in doubt; once the track's views say
        clearly that it is an absent earlier person (never on screen with it), it carries
        that person's id from here on (recorded as ``merged``)."""
        tr.last_check = t
        d = self._describe(image, lm)
        tr.samples.append(d)
        mean = np.mean(tr.samples, axis=0)
        exclude = on_screen | tr.seen_with | {tr.face_id}
        decision = self.gallery.decide(mean, exclude, own=tr.face_id)
        if decision.face_id is None or decision.uncertain:
            return
        old = tr.face_id
        moved = self.gallery.identities.pop(old, None)
        target = self.gallery.add(decision.face_id)
        for v in (moved.descriptors if moved else []):
            target.add(v)
        tr.face_id, tr.doubt = decision.face_id, False
        self.relabels.append((old, decision.face_id, -np.inf, np.inf))
        decision.note = f"id {old} was in doubt: {len(tr.samples)} views say person " \
                        f"{decision.face_id}; rows from here on carry {decision.face_id}"
        self.gallery.record(t, tr.face_id, decision, "merged")

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
        if self._worker is not None:
            self._worker.shutdown()
            self._worker, self._refresh = None, None
        for tr in self._tracks:
            tr.mesher.close()
        for m in self._pool:
            m.close()
        region = [self._region_detector] if self._region_detector is not None else []
        for det in self._detectors + region:
            give_back(det)  # warm for the next tracker of this process (an early one collected)
        self._detectors, self._region_detector = [], None
        self._early = []
        self._tracks, self._pool = [], []

