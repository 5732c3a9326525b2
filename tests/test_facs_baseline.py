"""The streaming neutral: a median of calm frames, robust to expressions, bounded memory."""

import numpy as np

from tells.facs.baseline import NeutralBaseline, identity_tolerance, population_neutral


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
    for i in range(100):
        b.update(pop + 5 * tol, i / 30)  # eyes shut, a wide grin …
    assert np.allclose(b.value(), pop)


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
