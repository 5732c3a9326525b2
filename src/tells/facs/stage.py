"""The per-frame FACS stage: measurements → person's neutral → action-unit columns."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from tells.contract import AU_C_COLUMNS, AU_NUMBERS, AU_R_COLUMNS, UNILATERAL_COLUMNS
from tells.face.observation import FaceObservation
from tells.facs.aus import CLOSED_HOLD_S, LINEAR, geometric_intensities, intensities, with_motion
from tells.facs.baseline import NeutralBaseline, NeutralCrop, population_neutral
from tells.facs.calibration import REGIONS, UNITS, InputLog, rest_offset
from tells.facs.features import NAMES, measure
from tells.facs.motion import crop_points, eye_darkness, gray, motion_evidence, new_dis

#: a frame is calm when landmarks move less than this (eye-corner distances per second, mean)
CALM_SPEED = 0.25
#: and the head is within this of frontal (radians, yaw and pitch)
CALM_POSE = 0.35
#: skin motion is read against the neutral crop fully while the head is within MOTION_POSE[0]
#: (radians, pitch and yaw) of the pose the neutral crop was seen at, not at all beyond
#: MOTION_POSE[1] (a turned head moves skin in the crop that no action unit moved)
MOTION_POSE = (0.12, 0.25)
#: calm frames the neutral image must hold before skin motion is read against it (one frame's
#: alignment jitter is not a neutral)
MIN_NEUTRAL_FRAMES = 3
#: weight in the neutral's histograms of a calm frame that shows an action unit, even a
#: trace of one (:data:`QUIET_AU` or more, against the neutral so far), beside a calm
#: expressionless one: a smile held for two seconds is not absorbed into the neutral
#: (single_face.mp4: AU06 r with OpenFace .30 -> .98), while a face first seen expressive can
#: still drift towards its resting state
EXPRESSIVE_WEIGHT = 0.05
#: a calm frame builds the person's neutral fully (its measurements counted once, the neutral
#: image moved by its full step, :class:`NeutralCrop`) only while its strongest unit reads
#: below this; one showing a trace up to A counts :data:`EXPRESSIVE_WEIGHT` and moves the
#: neutral image by :data:`TRACE_STEP` gray levels. With A as the line, a weak expression
#: held a second was absorbed within a few frames, its reading gone (a one-sided dimpler at A,
#: R14A warped onto single_face.mp4 and held 1.2 s: AU14R .24 at the start, .01 at the end;
#: photo pairs morphed to 35 % and eased in: spotted .71, now .75)
QUIET_AU = 0.1
TRACE_STEP = 0.02
#: the first calm frames of a face all count fully, each before it is measured: no single
#: frame (the first mesh of a track is often off) is the neutral alone
WARM_FRAMES = 8
#: faces whose state is kept (least recently seen dropped first)
MAX_FACES = 32


_ROW_KEYS = [(f"AU{n:02d}", rc, cc)
             for n, rc, cc in zip(AU_NUMBERS, AU_R_COLUMNS, AU_C_COLUMNS, strict=True)]
_UNILATERAL_KEYS = [(c[:-2], c) for c in UNILATERAL_COLUMNS]


def au_row(aus: dict[str, float]) -> dict[str, float]:
    """Per-frame table columns (``AUxx_r``, ``AUxx_c``, unilateral) from intensities."""
    row = {}
    for name, rc, cc in _ROW_KEYS:
        v = round(aus[name], 3)
        row[rc] = v
        row[cc] = 1.0 if v >= 1.0 else 0.0
    for name, c in _UNILATERAL_KEYS:
        row[c] = round(aus[name], 3)
    return row


@dataclass
class _FaceState:
    baseline: NeutralBaseline
    crop: NeutralCrop = field(default_factory=NeutralCrop)
    fit: dict = field(default_factory=dict)
    prev: np.ndarray | None = None
    prev_t: float = 0.0
    closed_since: float | None = None
    last: dict[str, float] = field(default_factory=dict)
    #: (neutral crop, its eye darkness): computed once per neutral image, not per frame
    dark: tuple = (None, 0.0)


#: measurements read only against the person's own neutral, never the population's: how
#: deeply the forehead is lined at rest varies with age far more than any action moves it (a
#: posed disgust photo of a lined 45-year-old forehead read AU1 4.7 from it alone)
PERSONAL_ONLY = [NAMES.index("tex_forehead")]


def image_aus(aligned: np.ndarray, crop: np.ndarray | None, yaw: float = 0.0) -> dict[str, float]:
    """Action units of a single image, measured against the population neutral face (the
    :data:`PERSONAL_ONLY` measurements count as at rest)."""
    x, neutral = measure(aligned, crop, yaw), population_neutral()
    x[PERSONAL_ONLY] = neutral[PERSONAL_ONLY]
    aus = intensities(x, neutral)
    aus["AU43"] = 0.0  # a still cannot show that the eyes stayed closed
    return aus


class AUStage:
    """Pipeline stage adding ``AUxx_r``/``AUxx_c`` and the unilateral columns.

    Each ``face_id`` has its own :class:`NeutralBaseline`, fed with calm frames (after the
    first :data:`WARM_FRAMES`, those showing an action unit count
    :data:`EXPRESSIVE_WEIGHT`). The last intensities of a face are kept in :meth:`latest`
    for the emotion stage.

    With ``offline`` (a recorded file), what each row was read from is kept, and
    :meth:`calibrate` corrects the finished table with each face's resting state over the
    whole recording (:mod:`tells.facs.calibration`).
    """

    columns = AU_R_COLUMNS + AU_C_COLUMNS + UNILATERAL_COLUMNS

    def __init__(self, half_life_s: float = 120.0, offline: bool = False):
        self.half_life_s = half_life_s
        self._faces: OrderedDict[int, _FaceState] = OrderedDict()
        self._dis = None  # this stage's own flow object (one per stage: runs may be threads)
        self._log = InputLog() if offline else None

    def _state(self, face_id: int) -> _FaceState:
        st = self._faces.get(face_id)
        if st is None:
            st = _FaceState(NeutralBaseline(self.half_life_s))
            self._faces[face_id] = st
            if len(self._faces) > MAX_FACES:
                self._faces.popitem(last=False)
        else:
            self._faces.move_to_end(face_id)
        return st

    def latest(self, face_id: int) -> dict[str, float]:
        """Intensities of the face's last processed frame (empty if none)."""
        st = self._faces.get(face_id)
        return st.last if st is not None else {}

    def _flow(self, ref: np.ndarray, g: np.ndarray) -> np.ndarray:
        """DIS flow from the neutral crop to ``g``, on the calling thread. It releases the GIL
        for its fraction of a millisecond: in :func:`tells.pipeline.run` the emotion CNN
        started on the worker thread runs beside it. (Handed to that worker too, the flow ran
        there before the CNN with the two one after the other, or was taken back when the
        worker had not begun it; the full pipeline was slower that way in most alternating
        runs, see the commit that moved it here.)"""
        if self._dis is None:
            self._dis = new_dis()
        return self._dis.calc(ref, g, None)

    def __call__(self, obs: FaceObservation) -> dict[str, float]:
        st = self._state(obs.face_id)
        x = measure(obs.aligned, obs.crop, obs.pose[1])
        geo = obs.aligned
        if st.prev is not None and obs.t > st.prev_t:
            speed = float(np.abs(geo[:, :2] - st.prev).mean()) / (obs.t - st.prev_t)
        else:
            speed = np.inf
        calm = (speed < CALM_SPEED and abs(obs.pose[0]) < CALM_POSE
                and abs(obs.pose[1]) < CALM_POSE and not obs.quality.get("blur", False)
                and not obs.quality.get("partial", False))
        warm = st.baseline.frames < WARM_FRAMES
        if warm and (calm or st.baseline.frames == 0):
            st.baseline.update(x, obs.t)
        st.prev, st.prev_t = geo[:, :2].copy(), obs.t
        neutral = st.baseline.value()
        aus, v = geometric_intensities(x, neutral)
        if calm and not warm:  # a held expression must not become the neutral
            st.baseline.update(x, obs.t, 1.0 if max(aus.values()) < QUIET_AU else EXPRESSIVE_WEIGHT)
        motion = None
        if obs.crop is not None:
            g = gray(obs.crop)
            pts = (crop_points(obs.landmarks, obs.crop_matrix) if obs.crop_matrix is not None
                   else None)
            turn = self._turn_weight(st.crop, g, obs.pose)
            dense = self._flow(st.crop.value(), g) if turn > 0.0 else None
            motion = self._motion(st.crop, g, obs.pose, pts, st.fit, dense, st, turn)
            if motion is not None:
                aus = with_motion(aus, x, neutral, motion, v)
            # only calm frames without any action unit build the neutral image, those with a
            # trace of one (a weak expression held) only slowly
            level = max(aus.values())
            if (calm or st.crop.frames == 0) and level < 1.0:
                st.crop.update(g, obs.pose, None if level < QUIET_AU else TRACE_STEP)
        if aus["AU45"] >= 1.0:
            st.closed_since = obs.t if st.closed_since is None else st.closed_since
        else:
            st.closed_since = None
        if st.closed_since is None or obs.t - st.closed_since < CLOSED_HOLD_S:
            aus["AU43"] = 0.0
        st.last = aus
        if self._log is not None:
            self._log.add(obs.face_id, x, neutral, motion)
        return au_row(aus)

    def calibrate(self, frames) -> dict[int, dict[str, float]]:
        """Correct the action-unit columns of ``frames`` (the finished table of the run this
        stage was in, face rows in the order this stage saw them) in place with each face's
        resting state over the recording (:func:`tells.facs.calibration.rest_offset`).

        Returns ``{face_id: {unit: how far its evidence was raised}}`` for the faces
        corrected (face ids as this stage saw them); nothing without ``offline`` or when
        ``frames`` is not that table."""
        log = self._log
        face_rows = np.flatnonzero(frames["success"].to_numpy() == 1) if len(frames) else []
        if log is None or log.rows == 0 or len(face_rows) != log.rows:
            return {}
        ids = log.face_ids()
        done: dict[int, dict[str, float]] = {}
        keep = [c for c in self.columns if not c.startswith("AU43")]  # held closure: as read
        at = [frames.columns.get_loc(c) for c in keep]
        units = sorted({u for part in REGIONS for u in part})
        for face in np.unique(ids):
            rows = np.flatnonzero(ids == face)
            x, neutral = log.measurements(rows)
            read = {u: frames[f"{u}_r"].to_numpy()[face_rows[rows]] for u in units}
            offset = rest_offset(x, neutral, read,
                                 frames["timestamp"].to_numpy()[face_rows[rows]])
            if offset is None:
                continue
            new = [au_row(intensities(a, b, m, offset)) for a, b, m in zip(
                x, neutral, log.motion(rows), strict=True)]
            values = np.array([[r[c] for c in keep] for r in new])
            frames.iloc[face_rows[rows], at] = values
            done[int(face)] = {u: round(-float(offset[LINEAR.index(u)]), 4) for u in UNITS
                               if offset[LINEAR.index(u)] < 0.0}
        return done

    @staticmethod
    def _turn_weight(neutral: NeutralCrop, g, pose) -> float:
        """How much skin motion against the neutral crop counts (0 when there is no usable
        neutral image yet or the head is turned too far from the pose it was seen at)."""
        ref = neutral.value()
        if ref is None or ref.shape != g.shape or neutral.frames < MIN_NEUTRAL_FRAMES:
            return 0.0
        pitch, yaw = neutral.pose
        turn = max(abs(pose[0] - pitch), abs(pose[1] - yaw))
        k = float((MOTION_POSE[1] - turn) / (MOTION_POSE[1] - MOTION_POSE[0]))
        return 0.0 if k < 0.0 else 1.0 if k > 1.0 else k  # np.clip's value, a fraction of its cost

    @classmethod
    def _motion(cls, neutral: NeutralCrop, g, pose, points=None,
                fit: dict | None = None, dense=None,
                st: _FaceState | None = None, turn: float | None = None
                ) -> dict[str, float] | None:
        """Skin-motion evidence against the neutral crop, faded out as the head turns away
        from the pose the neutral was seen at (``None``: no neutral image yet); ``dense``: the
        flow from the neutral crop to ``g`` if computed already; ``st``: the face's state
        (keeps the neutral crop's eye darkness); ``turn``: :meth:`_turn_weight` of the same
        arguments if computed already."""
        k = cls._turn_weight(neutral, g, pose) if turn is None else turn
        if k <= 0.0:
            return None
        ref = neutral.value()
        dark = None
        if st is not None:
            if st.dark[0] is not ref:
                st.dark = (ref, float(eye_darkness(ref).sum()))
            dark = st.dark[1]
        return {n: v * k for n, v in motion_evidence(ref, g, points, fit, dense, dark).items()}

    def finish(self) -> None:
        """Nothing to flush (state is per face and bounded)."""
