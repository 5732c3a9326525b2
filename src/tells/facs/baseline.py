"""The person's neutral face, estimated while the video streams.

For each ``face_id`` a :class:`NeutralBaseline` keeps one fixed-size histogram per measurement
(:data:`tells.facs.features.NAMES`) over *calm* frames (little landmark motion, good quality,
near-frontal), with old counts fading (half-life ``half_life_s``). Only values within
``GATE`` × ``tolerance`` of the face's first frame enter a histogram: a value further out is an
expression, not this face at rest. (Centred on the population neutral
(:func:`population_neutral`) instead, the gate kept a face that rests far from the average, a
long chin or a lined nose bridge, at the population's value for good: all 26 TFEID performers'
chin height, 21 of their chin raisers, and two nose bridges read AU09 5.0 on every neutral
frame.) The eye apertures stay centred on the population's, so that shut eyes never become
the resting aperture. The neutral value is the histogram's median, or the population's while a
histogram is empty. Memory is a few kilobytes per face whatever the length of the video.

Single images are measured against the population neutral.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from tells.facs.features import NAMES

DATA = Path(__file__).parent / "data" / "population_neutral.json"

#: histogram bins per measurement over population ± GATE tolerances
BINS = 48
#: values further than this many tolerances from the population never enter a histogram
GATE = 2.0
#: a frame whose mean eye aperture is more than this many tolerances below the population's
#: shows closed or squeezed eyes: its apertures do not enter the histograms (a resting face
#: has open eyes, however small), except a face's first frame's
EYE_GATE = 0.5


@lru_cache(maxsize=1)
def _population() -> tuple[np.ndarray, np.ndarray]:
    data = json.loads(DATA.read_text())
    value = np.array([data["neutral"][n] for n in NAMES], dtype=np.float64)
    tol = np.array([data["tolerance"][n] for n in NAMES], dtype=np.float64)
    return value, tol


def population_neutral() -> np.ndarray:
    """Measurements of an average neutral face (:data:`NAMES` order)."""
    return _population()[0].copy()


def identity_tolerance() -> np.ndarray:
    """How far one person's neutral may sit from the population's, per measurement."""
    return _population()[1].copy()


class NeutralBaseline:
    """Streaming estimate of one person's neutral measurements.

    Parameters
    ----------
    half_life_s : seconds after which a calm frame counts half as much as a new one.

    Examples
    --------
    >>> b = NeutralBaseline()
    >>> b.update(population_neutral(), t=0.0)
    >>> bool(np.allclose(b.value(), population_neutral(), atol=0.01))
    True
    """

    def __init__(self, half_life_s: float = 120.0):
        self.pop, self.tol = _population()
        self.lo = self.pop - GATE * self.tol  # re-centred on the first frame (but the eyes)
        self.width = 2 * GATE * self.tol / BINS
        self.counts = np.zeros((len(NAMES), BINS))
        self.half_life_s = half_life_s
        self.frames = 0
        self._last_t: float | None = None
        self._value = self.pop.copy()
        self._dirty = False
        self._rows = np.arange(len(NAMES))
        self._eye = [NAMES.index("eye_open_R"), NAMES.index("eye_open_L")]

    def update(self, x: np.ndarray, t: float, weight: float = 1.0) -> None:
        """Add one calm frame's measurements ``x`` at time ``t`` (seconds), counted
        ``weight`` times."""
        if self._last_t is not None and t > self._last_t:
            self.counts *= 0.5 ** ((t - self._last_t) / self.half_life_s)
        self._last_t = t
        if not self.frames:
            self.lo = x - GATE * self.tol
            self.lo[self._eye] = self.pop[self._eye] - GATE * self.tol[self._eye]
        pos = (x - self.lo) / self.width
        inside = (pos >= 0) & (pos < BINS)
        e = self._eye
        if self.frames and float(x[e].mean()) < self.pop[e[0]] - EYE_GATE * self.tol[e[0]]:
            inside[e] = False
        b = np.clip(pos, 0, BINS - 1).astype(np.int64)
        self.counts[self._rows[inside], b[inside]] += weight
        self.frames += 1
        self._dirty = True

    def value(self) -> np.ndarray:
        """The neutral measurements now (per measurement: histogram median, else the
        population's)."""
        if self._dirty:
            cum = np.cumsum(self.counts, axis=1)
            total = cum[:, -1]
            half = total * 0.5
            k = np.minimum((cum < half[:, None]).sum(axis=1), BINS - 1)
            prev = np.where(k > 0, cum[self._rows, np.maximum(k - 1, 0)], 0.0)
            inbin = self.counts[self._rows, k]
            frac = np.clip((half - prev) / np.maximum(inbin, 1e-12), 0.0, 1.0)
            med = self.lo + (k + frac) * self.width
            self._value = np.where(total > 1e-6, med, self.pop)
            self._dirty = False
        return self._value


class NeutralCrop:
    """Streaming neutral *image* of one person: a per-pixel running median of the gray
    aligned crops of calm, expressionless frames, and the head pose they were seen at.

    The first ``warm`` frames are averaged; after that each pixel steps at most ``step`` gray
    levels towards each new frame, which converges to the per-pixel median and lets a passing
    expression or a blink move it by only a few levels. Memory: one float image.

    Examples
    --------
    >>> n = NeutralCrop()
    >>> n.update(np.full((8, 8), 100, np.uint8), (0.0, 0.1, 0.0))
    >>> int(n.value()[0, 0]), n.pose
    (100, (0.0, 0.1))
    """

    def __init__(self, warm: int = 8, step: float = 0.5):
        self.warm = warm
        self.step = step
        self.frames = 0
        self._image: np.ndarray | None = None
        self._u8: np.ndarray | None = None
        self._pose = np.zeros(2)

    def update(self, gray: np.ndarray, pose: tuple[float, float, float],
               step: float | None = None) -> None:
        """Add one calm frame: ``gray`` aligned crop (uint8) and its head pose (Rx, Ry, Rz);
        after the warm frames each pixel moves at most ``step`` gray levels towards it
        (default: the crop's own ``step``)."""
        g = gray.astype(np.float32)
        p = np.array(pose[:2], dtype=np.float64)
        if self._image is None or self._image.shape != g.shape:
            self._image, self._pose, self.frames = g, p, 0
        elif self.frames < self.warm:
            k = 1.0 / (self.frames + 1)
            self._image += (g - self._image) * k
            self._pose += (p - self._pose) * k
        else:
            k = self.step if step is None else step
            self._image += np.clip(g - self._image, -k, k)
            self._pose += (p - self._pose) * 0.05
        self.frames += 1
        self._u8 = None

    def value(self) -> np.ndarray | None:
        """The neutral gray crop (uint8), or ``None`` before the first calm frame."""
        if self._image is None:
            return None
        if self._u8 is None:
            self._u8 = np.clip(self._image + 0.5, 0, 255).astype(np.uint8)
        return self._u8

    @property
    def pose(self) -> tuple[float, float]:
        """Mean (pitch, yaw) of the frames the neutral image was built from (radians)."""
        return float(self._pose[0]), float(self._pose[1])
