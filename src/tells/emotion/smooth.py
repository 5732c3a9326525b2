"""Temporal smoothing of per-frame emotion probabilities that keeps brief flashes.

A causal exponential filter with a short time constant (``tau_s``, default 35 ms) taken from
the frame timestamps, so any or a variable frame rate works: a 100 ms flash reaches over 90 %
of its height at 24, 30 or 60 fps, while a single-frame flicker at 30 fps keeps well under
two thirds of its size. (A stage returns each frame's value at once, so no look-ahead filter
such as a median is possible.) The output is renormalised to sum to 1; a gap of more than a
second restarts the filter.
"""

from __future__ import annotations

import numpy as np


class FlashPreservingSmoother:
    """Causal smoother for one face's probability vectors.

    Examples
    --------
    >>> s = FlashPreservingSmoother()
    >>> calm, flash = np.array([0.1, 0.9]), np.array([0.9, 0.1])
    >>> _ = [s(calm, t / 30) for t in range(10)]
    >>> [round(float(s(flash, t / 30)[0]), 2) for t in (10, 11, 12)]
    [0.59, 0.78, 0.85]
    """

    def __init__(self, tau_s: float = 0.035):
        self.tau_s = tau_s
        self._state: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, p: np.ndarray, t: float) -> np.ndarray:
        p = np.asarray(p, dtype=np.float64)
        if self._state is None or self._t is None or t <= self._t or t - self._t > 1.0:
            self._state = p.copy()
        else:
            a = 1.0 - np.exp(-(t - self._t) / self.tau_s)
            self._state = self._state + a * (p - self._state)
        self._t = t
        return self._state / self._state.sum()
