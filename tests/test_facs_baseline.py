"""The streaming neutral: a median of calm frames, robust to expressions, bounded memory."""

import numpy as np

from tells.facs.baseline import NeutralBaseline, identity_tolerance, population_neutral
from tells.facs.features import NAMES


def test_median_of_calm_frames_not_mean():
    pop, tol = population_neutral(), identity_tolerance()
    person = pop + 0.5 * tol
    b = NeutralBaseline()
    rng = np.random.default_rng(0)
    for i in range(60):
        x = person + rng.normal(0, 0.05, len(pop)) * tol
        if i % 3 == 0:  # a third of the frames show an expression within the gate
            x = x + 1.2 * tol
        b.update(x, i / 30)
    assert np.allclose(b.value(), person, atol=0.25 * tol.max())


def test_values_beyond_the_gate_never_become_neutral():
    pop, tol = population_neutral(), identity_tolerance()
    b = NeutralBaseline()
    b.update(pop, 0.0)  # the face at rest, first seen
    for i in range(1, 100):
        b.update(pop + 5 * tol, i / 30)  # a wide grin held …
    assert np.allclose(b.value(), pop, atol=0.05 * tol.max())


def test_a_face_resting_far_from_the_average_gets_its_own_neutral():
    """A long chin or a lined nose bridge rests beyond the gate around the population's
    neutral (TFEID's performers: chin height 3 tolerances short, nose-bridge texture 5 above):
    the gate is centred on the face's own first frame, so its resting values are its neutral."""
    pop, tol = population_neutral(), identity_tolerance()
    eye = [NAMES.index("eye_open_R"), NAMES.index("eye_open_L")]
    person = pop + 4 * tol
    person[eye] = pop[eye]
    b = NeutralBaseline()
    rng = np.random.default_rng(0)
    for i in range(30):
        b.update(person + rng.normal(0, 0.05, len(pop)) * tol, i / 30)
    assert np.allclose(b.value(), person, atol=0.25 * tol.max())


def test_memory_is_bounded_and_old_frames_fade():
    pop, tol = population_neutral(), identity_tolerance()
    b = NeutralBaseline(half_life_s=10.0)
    size = b.counts.nbytes
    for i in range(3000):
        b.update(pop - 0.8 * tol, i / 30)
    for i in range(3000, 3600):  # 20 s of a different neutral (after a lighting change)
        b.update(pop + 0.8 * tol, i / 30)
    assert b.counts.nbytes == size
    assert np.all(b.value() > pop)


def test_expressive_frames_count_little():
    pop, tol = population_neutral(), identity_tolerance()
    b = NeutralBaseline()
    for i in range(15):  # half a second at rest, then a smile held three times as long
        b.update(pop, i / 30)
    for i in range(15, 60):
        b.update(pop + 1.2 * tol, i / 30, weight=0.05)
    assert np.allclose(b.value(), pop, atol=0.2 * tol.max())
    for i in range(60, 300):  # counted fully, the held smile becomes the neutral
        b.update(pop + 1.2 * tol, i / 30)
    assert np.all(b.value() > pop + 0.8 * tol)


def test_shut_eyes_never_become_the_resting_aperture():
    pop, tol = population_neutral(), identity_tolerance()
    eye = [NAMES.index("eye_open_R"), NAMES.index("eye_open_L")]
    shut = pop + 0.3 * tol
    shut[eye] = pop[eye] - 1.0 * tol[eye]  # within the gate, but closed
    b = NeutralBaseline()
    b.update(pop, 0.0)  # a face's first frame always counts
    for i in range(1, 31):  # then a second of crying with the eyes shut
        b.update(shut, i / 30)
    v = b.value()
    assert np.allclose(v[eye], pop[eye], atol=0.05 * tol.max())
    others = np.ones(len(pop), bool)
    others[eye] = False
    assert np.allclose(v[others], shut[others], atol=0.1 * tol.max())
