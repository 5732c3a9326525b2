"""Generated flow-image data sets for exercising ``tells research loso``.

The samples are onset→apex flow images (u, v, strain) of a schematic face, with class-dependent
motion shaped like the EMFACS action units of the MEGC 3-class task:

* negative: brow lowerer (AU4: brows move down and together), often lip-corner depressor
  (AU15); a fifth are contempt-like (one lip corner tightened and raised, no brows), which
  resembles a one-sided smile;
* positive: lip corners pulled up and out (AU12) with cheek raiser (AU6); a third one-sided;
* surprise: brows raised (AU1+2), often jaw drop (AU26).

Nuisances keep it from being trivial: per-subject face position, scale, motion strength and an
idiosyncratic motion field; per-sample amplitude, head translation, blinks (a common false
cue), smooth and pixel noise; and a few samples carrying another class's pattern (label noise).
Datasets differ in image size and noise. The numbers it yields say that the pipeline works,
not how well a model does on real faces.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pandas as pd

from tells.research.flow import optical_strain, write_flow_png

#: MEGC2019 composite class shares (250 negative, 109 positive, 83 surprise of 442)
CLASS_SHARES = {"negative": 250 / 442, "positive": 109 / 442, "surprise": 83 / 442}
#: (name, subjects, image side, noise) like the SMIC / CASME II / SAMM parts of MEGC2019
DATASETS = (("smic", 16, 64, 1.3), ("casme2", 24, 48, 1.0), ("samm", 28, 40, 0.9))
#: PNG encoding: value = 127.5 + 127.5 * channel / scale, per channel (u, v, strain)
ENCODING_SCALE = (4.0, 4.0, 0.5)


def _blob(grid, cx, cy, sigma, du, dv, u, v) -> None:
    gx, gy = grid
    g = np.exp(-((gx - cx) ** 2 + (gy - cy) ** 2) / (2 * sigma**2))
    u += du * g
    v += dv * g


def _smooth_field(rng: np.random.Generator, side: int, amp: float) -> tuple[np.ndarray, ...]:
    """Two smooth random fields: a coarse random grid upsampled bilinearly."""
    import cv2

    out = []
    for _ in range(2):
        coarse = rng.normal(0, amp, (4, 4)).astype(np.float32)
        out.append(cv2.resize(coarse, (side, side), interpolation=cv2.INTER_CUBIC))
    return tuple(out)


def render_sample(
    label: str,
    side: int,
    rng: np.random.Generator,
    subject: dict,
    noise: float = 1.0,
) -> np.ndarray:
    """One ``(side, side, 3)`` float32 flow image (u, v in pixels at ``side``; strain).

    Parameters
    ----------
    label
        negative, positive or surprise.
    side
        Image side in pixels.
    rng
        Random generator (the sample's randomness).
    subject
        Per-subject traits from :func:`_subject_traits`.
    noise
        Multiplier of the noise terms (dataset-specific).
    """
    lin = (np.arange(side) + 0.5) / side
    gx, gy = np.meshgrid(lin, lin)
    cx0, cy0, sc = subject["cx"], subject["cy"], subject["scale"]
    jx, jy = rng.normal(0, 0.02, 2)
    grid = ((gx - 0.5 - cx0 - jx) / sc + 0.5, (gy - 0.5 - cy0 - jy) / sc + 0.5)
    u = np.zeros((side, side), np.float32)
    v = np.zeros((side, side), np.float32)
    a = subject["amp"] * rng.uniform(0.5, 1.5) * side / 48
    s = 0.07
    if label == "negative":
        if rng.random() < 0.2:  # contempt-like: one lip corner tightened and raised
            sign = rng.choice([-1, 1])
            _blob(grid, 0.5 + sign * 0.15, 0.71, s, sign * 0.5 * a, -0.35 * a, u, v)
        else:
            _blob(grid, 0.32, 0.30, s, 0.6 * a, 0.9 * a, u, v)
            _blob(grid, 0.68, 0.30, s, -0.6 * a, 0.9 * a, u, v)
            if rng.random() < 0.5:
                _blob(grid, 0.36, 0.73, s, 0, 0.6 * a, u, v)
                _blob(grid, 0.64, 0.73, s, 0, 0.6 * a, u, v)
    elif label == "positive":
        sides = [rng.choice([-1, 1])] if rng.random() < 0.33 else [-1, 1]
        for sign in sides:
            _blob(grid, 0.5 + sign * 0.14, 0.72, s, sign * 0.7 * a, -0.8 * a, u, v)
            _blob(grid, 0.5 + sign * 0.17, 0.55, s * 1.3, 0, -0.35 * a, u, v)
    elif label == "surprise":
        _blob(grid, 0.32, 0.28, s * 1.2, 0, -1.0 * a, u, v)
        _blob(grid, 0.68, 0.28, s * 1.2, 0, -1.0 * a, u, v)
        if rng.random() < 0.6:
            _blob(grid, 0.5, 0.88, s * 1.3, 0, 0.8 * a, u, v)
    else:
        raise ValueError(f"unknown label {label!r}")
    if rng.random() < 0.3:  # a blink
        b = rng.uniform(0.5, 1.5) * side / 48
        _blob(grid, 0.33, 0.41, s * 0.8, 0, b, u, v)
        _blob(grid, 0.67, 0.41, s * 0.8, 0, b, u, v)
    u += subject["idio_u"][:side, :side] if subject["idio_u"].shape[0] >= side else 0
    v += subject["idio_v"][:side, :side] if subject["idio_v"].shape[0] >= side else 0
    hu, hv = rng.normal(0, 0.3 * noise, 2) * side / 48  # head translation left in the flow
    su, sv = _smooth_field(rng, side, 0.35 * noise * side / 48)
    u += hu + su + rng.normal(0, 0.12 * noise, (side, side))
    v += hv + sv + rng.normal(0, 0.12 * noise, (side, side))
    return np.dstack([u, v, optical_strain(u, v)]).astype(np.float32)


def _subject_traits(rng: np.random.Generator, side: int) -> dict:
    idio_u, idio_v = _smooth_field(rng, side, 0.25 * side / 48)
    return {
        "cx": rng.normal(0, 0.04),
        "cy": rng.normal(0, 0.04),
        "scale": rng.uniform(0.85, 1.15),
        "amp": rng.uniform(0.6, 1.4),
        "idio_u": idio_u,
        "idio_v": idio_v,
    }


def _split_counts(rng: np.random.Generator, total: int, parts: int) -> np.ndarray:
    """Random positive integer counts summing to ``total``."""
    w = rng.gamma(2.0, 1.0, parts)
    counts = np.maximum(1, np.floor(w / w.sum() * total)).astype(int)
    while counts.sum() < total:
        counts[rng.integers(parts)] += 1
    while counts.sum() > total:
        i = int(np.argmax(counts))
        counts[i] -= 1
    return counts


def make_flow_dataset(
    out_dir: str | Path,
    n_samples: int = 450,
    datasets: tuple[tuple[str, int, int, float], ...] = DATASETS,
    seed: int = 0,
    label_noise: float = 0.05,
) -> pd.DataFrame:
    """Write a generated flow data set and its manifest.

    Parameters
    ----------
    out_dir
        Folder for ``manifest.csv`` and ``flow/<dataset>/<subject>/<sample>.png``.
    n_samples
        Total samples, spread over all subjects (each has at least one).
    datasets
        ``(name, n_subjects, image_side, noise)`` per dataset.
    seed
        Everything follows from it.
    label_noise
        Share of samples drawn with another class's pattern.

    Returns
    -------
    pandas.DataFrame
        The manifest (``dataset, subject, sample, label, flow``; flow relative to out_dir).
    """
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    n_subjects = sum(d[1] for d in datasets)
    counts = _split_counts(rng, n_samples, n_subjects)
    labels = list(CLASS_SHARES)
    shares = np.array(list(CLASS_SHARES.values()))
    rows = []
    k = 0
    for name, n_sub, side, noise in datasets:
        for j in range(n_sub):
            subject = f"s{j + 1:02d}"
            srng = np.random.default_rng([seed, zlib.crc32(f"{name}/{subject}".encode())])
            traits = _subject_traits(srng, side)
            folder = out_dir / "flow" / name / subject
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(counts[k]):
                label = str(srng.choice(labels, p=shares))
                drawn = label
                if srng.random() < label_noise:
                    drawn = str(srng.choice([c for c in labels if c != label]))
                flow = render_sample(drawn, side, srng, traits, noise)
                sample = f"{subject}_{i + 1:03d}"
                path = folder / f"{sample}.png"
                write_flow_png(path, flow, ENCODING_SCALE)
                rows.append({"dataset": name, "subject": subject, "sample": sample,
                             "label": label, "flow": path.relative_to(out_dir).as_posix()})
            k += 1
    manifest = pd.DataFrame(rows)
    manifest.to_csv(out_dir / "manifest.csv", index=False)
    return manifest
