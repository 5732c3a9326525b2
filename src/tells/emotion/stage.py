"""The per-frame emotion stage: CNN on the aligned crop + EMFACS scores from the FACS stage,
fused and smoothed per face."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from tells.contract import EMOTIONS
from tells.emotion.cnn import CNN_CLASSES, EmotionCNN
from tells.emotion.event import shared_event_model
from tells.emotion.fusion import AU_WEIGHT_VIDEO, fuse, pose_weight
from tells.emotion.smooth import FlashPreservingSmoother
from tells.face.observation import FaceObservation
from tells.facs.prototypes import prototype_scores
from tells.facs.stage import MAX_FACES, AUStage
from tells.io.table import Series


def emotion_row(p: np.ndarray) -> dict[str, float]:
    """Per-frame table columns from eight probabilities."""
    return {e: round(float(v), 4) for e, v in zip(EMOTIONS, p, strict=True)}


class EmotionStage:
    """Pipeline stage adding the eight emotion probability columns.

    Parameters
    ----------
    aus : the :class:`tells.facs.stage.AUStage` running before this stage in the same
        pipeline (its :meth:`~tells.facs.stage.AUStage.latest` intensities are read).
    cnn : the appearance classifier (default: a new :class:`EmotionCNN`).
    smooth : smooth over time per face (video); ``False`` gives per-frame values.
    au_weight : weight of the action-unit evidence in the fusion (:func:`fuse`).
    """

    columns = list(EMOTIONS)

    def __init__(self, aus: AUStage, cnn: EmotionCNN | None = None, smooth: bool = True,
                 au_weight: float = AU_WEIGHT_VIDEO):
        self.aus = aus
        self.au_weight = au_weight
        self.cnn = cnn or EmotionCNN()
        self.smooth = smooth
        self._smoothers: OrderedDict[int, FlashPreservingSmoother] = OrderedDict()
        self.event_model = shared_event_model()
        self._cnn_series: dict[int, Series] = {}
        self._ahead: dict[int, tuple] = {}  # face → (observation, future of its CNN output)
        self._lock = threading.Lock()  # one CNN call at a time (the worker's or this thread's)

    def prepare(self, obs: FaceObservation, submit) -> None:
        """Start the CNN on ``obs`` on a worker (``submit(fn, *args)`` → future, from
        :func:`tells.pipeline.run`); :meth:`__call__` of the same observation takes it."""
        self._ahead.pop(obs.face_id, None)
        if obs.crop is not None:
            self._ahead[obs.face_id] = (obs, submit(self._cnn, obs.crop))

    def _cnn(self, crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The CNN's probabilities and the naming model's texture components of one crop."""
        with self._lock:  # the CNN's interpreter only: the texture needs no lock
            probs = self.cnn(crop)
        return probs, self.event_model.texture_components(crop)

    def __call__(self, obs: FaceObservation) -> dict[str, float]:
        ahead = self._ahead.pop(obs.face_id, None)
        # the worker's result if it has started on it (else taken back and run here)
        done = ahead[1].result() if ahead is not None and not ahead[1].cancel() else None
        if done is None or ahead[0] is not obs:
            done = self._cnn(obs.crop) if obs.crop is not None else None
        cnn = None
        if done is not None:
            cnn, tex = done
            series = self._cnn_series.get(obs.face_id)
            if series is None:
                series = self._cnn_series[obs.face_id] = Series(self.width)
            series.append(obs.frame, np.concatenate(
                [cnn, self.event_model.mesh_components(obs.aligned), tex]))
        p = fuse(cnn, prototype_scores(self.aus.latest(obs.face_id)),
                 pose_weight(self.au_weight, obs.pose[1]))
        if self.smooth:
            sm = self._smoothers.get(obs.face_id)
            if sm is None:
                sm = self._smoothers[obs.face_id] = FlashPreservingSmoother()
                if len(self._smoothers) > MAX_FACES:
                    self._smoothers.popitem(last=False)
            p = sm(p, obs.t)
        return emotion_row(p)

    def finish(self) -> None:
        """Nothing to flush."""

    def latest_appearance(self, face_id: int) -> tuple[int, np.ndarray] | None:
        """``(frame, appearance record)`` of the face's newest frame (as :meth:`appearance`),
        or ``None``."""
        s = self._cnn_series.get(face_id)
        return s.last() if s else None

    def appearance(self, face_id: int) -> tuple[np.ndarray, np.ndarray]:
        """(frame indices, records (N, :attr:`width`)) for ``face_id``: per frame the raw
        CNN probabilities over :data:`tells.emotion.cnn.CNN_CLASSES` (unsmoothed, unfused),
        then the naming model's components of the mesh and of the texture
        (:meth:`~tells.emotion.event.EventModel.mesh_components`,
        :meth:`~tells.emotion.event.EventModel.texture_components`): what event naming
        reads."""
        s = self._cnn_series.get(face_id)
        return s.arrays() if s else (np.zeros(0, np.int64),
                                     np.zeros((0, self.width), np.float32))

    @property
    def width(self) -> int:
        """Numbers in a frame's appearance record."""
        return len(CNN_CLASSES) + self.event_model.width
