"""The face descriptor (face-api's ResNet run in numpy) on real faces, and the rule that turns
descriptor distances into ids."""

from __future__ import annotations

import numpy as np
import pytest

from tells.config import Settings
from tells.face.descriptor import CHIP, FaceDescriptor, distance, face_chip
from tells.face.mp import FaceDetector, FaceMesher
from tells.face.reid import Gallery
from tells.face.track import mesh_in_crop
from tells.io.image import read_image
from tells.io.samples import sample_path


def _faces(image) -> list[np.ndarray]:
    det, mesh = FaceDetector(0.5), FaceMesher(static=True)
    try:
        lms = [mesh_in_crop(mesh, image, d.box, 1.6) for d in det(image)]
    finally:
        det.close()
        mesh.close()
    return [lm for lm in lms if lm is not None]


@pytest.fixture(scope="module")
def describe():
    return FaceDescriptor()


def test_same_person_nearer_than_other_people(describe, wolfgang_frames):
    """Two moments of one man, 10 s apart, are nearer to each other than to any of the five
    people in multi_face.jpg; the five are beyond dlib's same-person line from him."""
    a, b = wolfgang_frames[10], wolfgang_frames[250]
    da = describe(face_chip(a, _faces(a)[0]))
    db = describe(face_chip(b, _faces(b)[0]))
    group = read_image(sample_path("multi_face.jpg"))
    others = [describe(face_chip(group, lm)) for lm in _faces(group)]
    assert len(others) == 5 and da.shape == (128,)
    same = distance(da, db)
    assert same < 0.6
    assert all(distance(da, o) > same and distance(da, o) > 0.6 for o in others)
    # the five differ from each other too
    pairs = [distance(x, y) for i, x in enumerate(others) for y in others[i + 1:]]
    assert min(pairs) > 0.35


def test_chip_is_the_model_input(wolfgang_frames):
    img = wolfgang_frames[0]
    chip = face_chip(img, _faces(img)[0])
    assert chip.shape == (CHIP, CHIP, 3) and chip.dtype == np.uint8
    with pytest.raises(ValueError):
        FaceDescriptor()(chip[:100])


def _unit(seed: int) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_rule_gives_the_earlier_id_only_when_clear():
    g = Gallery(Settings())
    a, b = _unit(1), _unit(2)  # about 1.4 apart, like two strangers
    g.add(0, a)
    g.add(1, b)
    near_a = a + 0.2 * _unit(3)
    d = g.decide(near_a, present=set())
    assert d.face_id == 0 and not d.uncertain
    # the same face, but person 0 is on screen: never the same id twice at once
    d = g.decide(near_a, present={0})
    assert d.face_id is None
    # half-way between two people: a new id, doubt recorded
    mid = (a + b) / 2
    mid = a + (mid - a) * (0.55 / np.linalg.norm(mid - a))
    d = g.decide(mid, present=set())
    assert d.face_id is None and d.uncertain
    far = _unit(4)
    d = g.decide(far, present=set())
    assert d.face_id is None and not d.uncertain


def test_rule_with_expected_faces_picks_the_absent_one():
    g = Gallery(Settings(expected_faces=2))
    a, b = _unit(1), _unit(2)
    g.add(0, a)
    g.add(1, b)
    blurred = a + 0.58 * _unit(5)  # too far for a clear match
    unknown_count = Gallery(Settings())
    unknown_count.add(0, a)
    unknown_count.add(1, b)
    assert unknown_count.decide(blurred, present={1}).face_id is None
    d = g.decide(blurred, present={1})
    assert d.face_id == 0 and d.uncertain  # both people seen; 1 is on screen
