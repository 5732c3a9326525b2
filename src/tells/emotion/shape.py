"""Expression from the face's shape: a linear model over the pose-normalised mesh.

The appearance CNN reads texture; this model reads where the landmarks moved. It is one
linear map from the mesh (:attr:`tells.face.observation.FaceObservation.aligned`: frontal head
frame, unit = outer eye-corner distance; the x and y of the 468 face points, irises left out)
to seven class scores over :data:`CLASSES`, fitted by ``scripts/fit_shape_model.py``
(principal components, then a class-balanced logistic regression) on meshes of FER2013's
training split (docs/DATA.md), the data fer's CNN was trained on.

Being linear, it reads a *change* as well as a face: an event's evidence is the projection of
the mesh at its apex minus the projection just before its onset, scored as if that change had
happened on the population's neutral face (:meth:`ShapeModel.change_probs`). So the person's
own resting face cancels out, which is what naming a flash needs.

Per frame the pipeline keeps only the seven projections (:meth:`ShapeModel.project`, a few
microseconds).
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data" / "shape_model.npz"
#: mesh points the model reads (the refined mesh's 468 face points; the irises follow gaze)
POINTS = 468


class ShapeModel:
    """The fitted linear shape model.

    Attributes
    ----------
    classes : class names (tells' names; ``neutral`` last).
    weights : (classes, 2·POINTS) map from the flattened x, y of the aligned mesh to scores.
    base : (classes,) scores of the population's neutral face (bias included), to which a
        change's projection is added.
    """

    def __init__(self, path: str | Path = DATA):
        with np.load(path, allow_pickle=False) as z:
            self.classes = [str(c) for c in z["classes"]]
            self.weights = z["weights"].astype(np.float32)
            self.base = z["base"].astype(np.float64)
        if self.weights.shape != (len(self.classes), 2 * POINTS):
            raise ValueError(f"{path}: weights of shape {self.weights.shape}")

    def project(self, aligned: np.ndarray) -> np.ndarray:
        """Seven projections of one aligned mesh ((≥468, ≥2) array)."""
        return self.weights @ np.ascontiguousarray(aligned[:POINTS, :2], np.float32).ravel()

    def change_probs(self, change: np.ndarray, among: list[str]) -> np.ndarray:
        """Probabilities over ``among`` (a subset of :attr:`classes`) of a change of
        projections (apex − before onset) seen on the population's neutral face."""
        idx = [self.classes.index(c) for c in among]
        s = np.asarray(change, np.float64)[idx] + self.base[idx]
        z = np.exp(s - s.max())
        return z / z.sum()


@lru_cache(maxsize=1)
def shared_shape_model() -> ShapeModel:
    """The shipped model, loaded once per process."""
    return ShapeModel()

