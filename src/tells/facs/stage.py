"""The per-frame FACS stage: measurements → person's neutral → action-unit columns."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from tells.contract import AU_C_COLUMNS, AU_NUMBERS, AU_R_COLUMNS, UNILATERAL_COLUMNS
from tells.face.observation import FaceObservation
from tells.facs.aus import CLOSED_HOLD_S, intensities
from tells.facs.baseline import NeutralBaseline, population_neutral
from tells.facs.features import measure

#: a frame is calm when landmarks move less than this (eye-corner distances per second, mean)
CALM_SPEED = 0.25
#: and the head is within this of frontal (radians, yaw and pitch)
CALM_POSE = 0.35
#: faces whose state is kept (least recently seen dropped first)
MAX_FACES = 32


def au_row(aus: dict[str, float]) -> dict[str, float]:
    """Per-frame table columns (``AUxx_r``, ``AUxx_c``, unilateral) from intensities."""
    row = {}
    for n, rc, cc in zip(AU_NUMBERS, AU_R_COLUMNS, AU_C_COLUMNS, strict=True):
        v = round(aus[f"AU{n:02d}"], 3)
        row[rc] = v
        row[cc] = 1.0 if v >= 1.0 else 0.0
    for c in UNILATERAL_COLUMNS:
        row[c] = round(aus[c[:-2]], 3)
    return row


@dataclass
class _FaceState:
    baseline: NeutralBaseline
    prev: np.ndarray | None = None
    prev_t: float = 0.0
    closed_since: float | None = None
    last: dict[str, float] = field(default_factory=dict)


def image_aus(aligned: np.ndarray, crop: np.ndarray | None, yaw: float = 0.0) -> dict[str, float]:
    """Action units of a single image, measured against the population neutral face."""
    aus = intensities(measure(aligned, crop, yaw), population_neutral())
    aus["AU43"] = 0.0  # a still cannot show that the eyes stayed closed
    return aus


class AUStage:
    """Pipeline stage adding ``AUxx_r``/``AUxx_c`` and the unilateral columns.

    Each ``face_id`` has its own :class:`NeutralBaseline`, fed with calm frames. The last
    intensities of a face are kept in :meth:`latest` for the emotion stage.
    """

    columns = AU_R_COLUMNS + AU_C_COLUMNS + UNILATERAL_COLUMNS

    def __init__(self, half_life_s: float = 120.0):
        self.half_life_s = half_life_s
        self._faces: OrderedDict[int, _FaceState] = OrderedDict()

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
        if calm or st.baseline.frames == 0:
            st.baseline.update(x, obs.t)
        st.prev, st.prev_t = geo[:, :2].copy(), obs.t
        aus = intensities(x, st.baseline.value())
        if aus["AU45"] >= 1.0:
            st.closed_since = obs.t if st.closed_since is None else st.closed_since
        else:
            st.closed_since = None
        if st.closed_since is None or obs.t - st.closed_since < CLOSED_HOLD_S:
            aus["AU43"] = 0.0
        st.last = aus
        return au_row(aus)

    def finish(self) -> None:
        """Nothing to flush (state is per face and bounded)."""
