"""Naming a spotted expression from what changed in this person's face between its onset and
its apex.

All evidence is a change against the same face a moment before, so a face that looks sad or
stern at rest does not make every flash sad or angry:

- the **action-unit changes** (apex − the frame before the onset), with the one-sided lip
  corner measures that FACS codes contempt by (unilateral AU14, with or without AU12);
- the **rise of the appearance CNN's probabilities** from just before the onset to the apex,
  and their level at the apex;
- the **mesh change**: where the pose-normalised landmarks moved, and the **texture change**:
  how the gradients of the aligned face crop changed (:func:`texture`, a HOG of the crop: the
  furrows, wrinkles and folds that come and go with an expression). The emotion stage keeps
  each frame's principal components of both (:meth:`EventModel.mesh_components`,
  :meth:`EventModel.texture_components`); an event reads
  the change of each block as a direction (scaled to unit length, :func:`unit`), so a weak
  expression is read as the strong one it resembles rather than as a different emotion.

A multinomial logistic model weighs them, one for each kind of evidence an event can have
(:class:`EventModel`; :data:`DATA`, listed by ``tells models`` as ``event_model``), fitted
by ``scripts/fit_event_emotion.py`` on flash clips of real people (``docs/DATA.md``) with
people held out to choose its regularisation. The probability returned
is the model's share for the named emotion: a calibrated-looking number from a small
development set, not a proof.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from tells.contract import AU_NUMBERS
from tells.emotion.cnn import CNN_CLASSES
from tells.facs.prototypes import prototype_scores

DATA = Path(__file__).parent / "data" / "event_model.npz"
#: mesh points the mesh map reads (the refined mesh's 468 face points; irises follow gaze)
POINTS = 468
#: the texture descriptor: a HOG of the aligned crop shrunk to TEXTURE_SIZE², 16-pixel blocks
#: every 8 pixels, 8-pixel cells, 9 orientations (1,764 numbers)
TEXTURE_SIZE = 64
_HOG = cv2.HOGDescriptor((TEXTURE_SIZE, TEXTURE_SIZE), (16, 16), (8, 8), (8, 8), 9)
TEXTURE_LEN = int(_HOG.getDescriptorSize())
#: the emotions an event can be named (neutral is not an event's emotion)
EVENT_EMOTIONS = ["anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise"]
#: action units whose change is evidence (lip suck and eye closure are too rare or unmeasured
#: in the posed fitting data to weigh)
FEATURE_AUS = [n for n in AU_NUMBERS if n not in (28, 43)]
#: the change features, in the model's order: action units first (:data:`N_AU_FEATURES`)
#: the EMFACS prototypes' scores of the changes (:func:`tells.facs.prototypes.prototype_scores`)
PROTOTYPES = ["anger", "disgust", "fear", "happiness", "sadness", "surprise"]
FEATURE_NAMES = ([f"AU{n:02d}" for n in FEATURE_AUS] + ["AU12_asym", "AU14_asym", "one_sided"]
                 + [f"proto_{e}" for e in PROTOTYPES]
                 + [f"rise_{c}" for c in CNN_CLASSES] + [f"apex_{c}" for c in CNN_CLASSES])
N_AU_FEATURES = len(FEATURE_AUS) + 3 + len(PROTOTYPES)


def _rises(delta: dict[str, float]) -> tuple[float, float, float, float]:
    """The one-sided lip-corner units' rises ``AU12L, AU12R, AU14L, AU14R`` (a fall counts as
    none: a corner that relaxes is no action on its side, nor one on the other)."""
    return tuple(max(0.0, float(delta.get(k, 0.0))) for k in ("AU12L", "AU12R", "AU14L", "AU14R"))


def one_sided(delta: dict[str, float]) -> float:
    """0..1 evidence of a one-sided lip corner (contempt) from AU changes keyed ``AU12L``,
    ``AU12R``, ``AU14L``, ``AU14R``: the larger side's rise over the other side's (corner
    raiser and dimpler alike), full at a difference of 2; a symmetric smile scores nothing,
    nor does a dimpler that relaxes on one side (speech through a smile in
    OpenFace's ``default.wmv``: the left dimpler fell by 4.9 while both corners rose)."""
    return _one_sided(*_rises(delta))


def _one_sided(l12: float, r12: float, l14: float, r14: float) -> float:
    """:func:`one_sided` from the four rises (:func:`_rises`)."""
    left = max(0.0, l12 - r12) + max(0.0, l14 - r14)
    right = max(0.0, r12 - l12) + max(0.0, r14 - l14)
    # both corners pulling (a smile) take away from the one-sided reading
    both = min(l12, r12)
    return float(np.clip((max(left, right) - 0.5 * both) / 2.0, 0.0, 1.0))


def texture(crop: np.ndarray) -> np.ndarray:
    """(TEXTURE_LEN,) float32 gradient-orientation histogram of an aligned face crop
    (:attr:`tells.face.FaceObservation.crop`, gray or RGB uint8)."""
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    if gray.shape[0] != TEXTURE_SIZE:
        gray = cv2.resize(gray, (TEXTURE_SIZE, TEXTURE_SIZE), interpolation=cv2.INTER_AREA)
    return _HOG.compute(np.ascontiguousarray(gray)).ravel()


def change_features(delta: dict[str, float], cnn_onset: np.ndarray | None,
                    cnn_apex: np.ndarray | None) -> np.ndarray:
    """The change features of one event in :data:`FEATURE_NAMES` order; the CNN's are NaN
    when no appearance was recorded."""
    aus = [float(delta.get(f"AU{n:02d}", 0.0)) for n in FEATURE_AUS]
    rises = _rises(delta)
    l12, r12, l14, r14 = rises
    asym = [abs(l12 - r12), abs(l14 - r14), _one_sided(*rises)]
    proto = prototype_scores(delta)
    aus += asym + [float(proto.get(e, 0.0)) for e in PROTOTYPES]
    if cnn_apex is None:
        cnn = [np.nan] * (2 * len(CNN_CLASSES))
    else:
        apex = np.asarray(cnn_apex, np.float64)
        on = apex if cnn_onset is None else np.asarray(cnn_onset, np.float64)
        cnn = list(apex - on) + list(apex)
    return np.array(aus + cnn, np.float64)


class EventModel:
    """The fitted naming model: three logistic models over the same features, for the
    evidence an event has (with the mesh change; the CNN without the mesh, as when events are
    found in a saved table; the action units alone, when no appearance was recorded).

    Attributes
    ----------
    weights : ``{"full" | "cnn" | "aus": (emotions, features)}`` weights of
        :func:`change_features` (zero where a model does not read a feature).
    bias : ``{kind: (emotions,)}`` intercepts.
    mesh_basis : (components, 2·POINTS) principal directions of the aligned mesh's change
        (x, y of :data:`POINTS` points); ``mesh_weights`` (emotions, components) weigh the
        unit-length change of a face's projections on them.
    texture_basis, texture_weights : the same for the crop's :func:`texture`
        (TEXTURE_LEN numbers).
    meta : how it was fitted (clips, people, sources, regularisation).
    """

    KINDS = ("full", "cnn", "aus")

    def __init__(self, path: str | Path = DATA):
        with np.load(path, allow_pickle=False) as z:
            classes = [str(c) for c in z["classes"]]
            names = [str(c) for c in z["feature_names"]]
            self.weights = {k: z[f"weights_{k}"].astype(np.float64) for k in self.KINDS}
            self.bias = {k: z[f"bias_{k}"].astype(np.float64) for k in self.KINDS}
            self.mesh_basis = z["mesh_basis"].astype(np.float32)
            self.mesh_weights = z["mesh_weights"].astype(np.float64)
            self.texture_basis = z["texture_basis"].astype(np.float32)
            self.texture_weights = z["texture_weights"].astype(np.float64)
            self.meta = json.loads(str(z["meta"]))
        if classes != EVENT_EMOTIONS or names != FEATURE_NAMES:
            raise ValueError(f"{path}: made for other classes or features than this tells")
        for block, width in (("mesh", 2 * POINTS), ("texture", TEXTURE_LEN)):
            basis, weights = getattr(self, f"{block}_basis"), getattr(self, f"{block}_weights")
            if basis.shape[1] != width or weights.shape != (len(EVENT_EMOTIONS), len(basis)):
                raise ValueError(f"{path}: {block} components of shape {basis.shape} and "
                                 f"weights of shape {weights.shape}")
        #: numbers a frame's record holds (mesh, then texture components)
        self.width = len(self.mesh_basis) + len(self.texture_basis)

    def mesh_components(self, aligned: np.ndarray) -> np.ndarray:
        """One frame's projections on the mesh components (its aligned mesh, a (≥468, ≥2)
        array). A frame's record is these, then :meth:`texture_components` of its crop
        (:attr:`width` numbers); the full model reads their change from just before an
        event's onset to its apex."""
        return self.mesh_basis @ np.ascontiguousarray(aligned[:POINTS, :2], np.float32).ravel()

    def texture_components(self, crop: np.ndarray) -> np.ndarray:
        """One frame's projections on the texture components (its aligned crop's
        :func:`texture`)."""
        return self.texture_basis @ texture(crop)

    def scores(self, delta: dict[str, float], cnn_onset: np.ndarray | None = None,
               cnn_apex: np.ndarray | None = None,
               mesh_change: np.ndarray | None = None) -> np.ndarray:
        """Scores (logits) over :data:`EVENT_EMOTIONS`."""
        kind = "aus" if cnn_apex is None else "cnn" if mesh_change is None else "full"
        x = np.nan_to_num(change_features(delta, cnn_onset, cnn_apex))
        s = self.weights[kind] @ x + self.bias[kind]
        if kind == "full":
            change = np.asarray(mesh_change, np.float64)
            k = len(self.mesh_basis)
            s = s + self.mesh_weights @ unit(change[:k]) + self.texture_weights @ unit(change[k:])
        return s


#: added to a change's length before scaling it to unit length: far below the smallest change
#: of a spotted expression's components (0.1 for the mesh, 0.8 for the texture on the
#: development clips)
UNIT_FLOOR = 1e-3


def unit(x: np.ndarray) -> np.ndarray:
    """``x`` (a vector, or rows of them) scaled to unit length; a change of nothing stays
    near zero (:data:`UNIT_FLOOR` is added to the length)."""
    x = np.asarray(x, np.float64)
    return x / (np.linalg.norm(x, axis=-1, keepdims=True) + UNIT_FLOOR)


@lru_cache(maxsize=1)
def shared_event_model() -> EventModel:
    """The shipped model, loaded once per process."""
    return EventModel()


def name_event(delta: dict[str, float], cnn_onset: np.ndarray | None = None,
               cnn_apex: np.ndarray | None = None,
               mesh_change: np.ndarray | None = None) -> tuple[str, float]:
    """``(emotion, share)`` for one event.

    Parameters
    ----------
    delta : action-unit change apex − onset (``AU01`` … and ``AU12L/R``, ``AU14L/R``).
    cnn_onset, cnn_apex : the CNN's probabilities over :data:`tells.emotion.cnn.CNN_CLASSES`
        just before the onset and at the apex, or ``None`` when no appearance was recorded.
    mesh_change : the face's components (:meth:`EventModel.mesh_components`, then
        :meth:`EventModel.texture_components`) at the apex minus just before the onset, or
        ``None``.

    Examples
    --------
    >>> name_event({"AU14R": 1.5, "AU12R": 0.6})[0]
    'contempt'
    """
    s = shared_event_model().scores(delta, cnn_onset, cnn_apex, mesh_change)
    z = np.exp(s - s.max())
    p = z / z.sum()
    k = int(np.argmax(s))
    return EVENT_EMOTIONS[k], float(p[k])
