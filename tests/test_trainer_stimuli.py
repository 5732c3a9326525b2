"""The warp as the trainer uses it (``synth_face(..., appearance=True, natural=True)``) on a
real face: full expressions do not fold the skin over, widened eyes show white instead of a stretched
iris, and the default anger item reads as anger to the appearance CNN."""

from __future__ import annotations

import numpy as np
import pytest
from test_trainer_support import read_frames

from tells.face.geometry import reference_shape
from tells.face.still import find_faces
from tells.facs.synth import (
    EYES,
    IRIS,
    MIN_AREA,
    _areas,
    _triangles,
    displacements,
    synth_face,
    untangle,
)
from tells.io.samples import sample_path
from tells.trainer.judge import judge
from tells.trainer.sources import stimulus_request


@pytest.fixture(scope="module")
def face():
    """Frame 0 of single_face.mp4 (a resting face) and its mesh."""
    img = read_frames(sample_path("single_face.mp4"), [0])[0]
    return img, find_faces(img, max_faces=1)[0][0]


def test_full_expressions_keep_every_mesh_triangle_the_right_way_up():
    """Anger's lowered brows and raised lids, disgust's raised nose and upper lip and
    happiness's raised cheeks cross rows of landmarks as requested; untangled, every triangle
    of the reference mesh keeps at least MIN_AREA of its area."""
    ref = reference_shape()[:468, :2]  # the skin, not the irises
    tri, area0 = _triangles()
    for emotion in ("anger", "disgust", "happiness"):
        d = displacements(stimulus_request(emotion), look=True)
        assert (_areas(ref + d[:468], tri) < 0).any(), emotion  # as asked, skin folds over
        kept = _areas(ref + untangle(d)[:468], tri) / area0
        assert kept.min() >= MIN_AREA - 0.02, (emotion, kept.min())


def test_a_raised_upper_lid_shows_white_above_the_iris(face):
    """AU5 at E: above the iris, inside the new eye opening, the trainer's warp is brighter
    than the oracle's (which drags the iris and lashes up into a dark band)."""
    img, lm = face
    plain = synth_face(img, "5E", landmarks=lm).astype(float)
    shown = synth_face(img, "5E", landmarks=lm, appearance=True, natural=True).astype(float)
    unit = float(np.linalg.norm(lm[263, :2] - lm[33, :2]))
    for s in (0, 1):
        c = lm[IRIS[s][0], :2]
        top = lm[EYES[s], 1].min()  # the neutral upper lid over the iris
        x, y = int(round(c[0])), int(round(top - 0.03 * unit))
        k = max(1, int(0.015 * unit))
        patch = (slice(y - k, y + k + 1), slice(x - k, x + k + 1))
        assert shown[patch].mean() > plain[patch].mean() + 15, s


def test_default_anger_item_reads_as_anger(face):
    """The bare appearance CNN's anger rises from the neutral to the default anger item and
    names it."""
    img, lm = face
    expr = synth_face(img, stimulus_request("anger"), landmarks=lm, appearance=True,
                      natural=True)
    v = judge(img, expr, "anger", neutral_landmarks=lm)
    assert v.passed and v.after > v.before + 0.2, v
    assert v.named == "anger", v
