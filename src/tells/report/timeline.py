"""Display series for the report's timelines: per face, the per-frame emotion probabilities and
AU intensities binned to at most a few thousand columns (for display only; the saved tables
keep every frame), quantised to bytes and base64-encoded so a 2-hour call stays small.

Emotion bins hold the mean probability (so the stacked chart still sums to one); AU bins hold
the maximum intensity, so a 200 ms flash still shows in a bin covering several seconds.
"""

from __future__ import annotations

import base64

import numpy as np
import pandas as pd

__all__ = ["MISSING", "bin_series", "encode_u8"]

#: byte value meaning "no data in this bin"
MISSING = 255


def bin_series(t: np.ndarray, values: np.ndarray, duration: float, bins: int,
               how: str = "mean") -> np.ndarray:
    """Bin ``values`` (frames × series) over ``[0, duration]`` into ``bins`` columns.

    Returns
    -------
    numpy.ndarray
        ``series × bins`` float array; NaN where a bin holds no frame.
    """
    t = np.asarray(t, dtype=float)
    values = np.asarray(values, dtype=float).reshape(len(t), -1)
    out = np.full((values.shape[1], bins), np.nan)
    if not len(t) or duration <= 0:
        return out
    idx = np.clip((t / duration * bins).astype(int), 0, bins - 1)
    for j in range(values.shape[1]):
        v = values[:, j]
        ok = np.isfinite(v)
        if not ok.any():
            continue
        if how == "max":
            s = pd.Series(v[ok]).groupby(idx[ok]).max()
            out[j, s.index.to_numpy()] = s.to_numpy()
        else:
            sums = np.bincount(idx[ok], weights=v[ok], minlength=bins)
            counts = np.bincount(idx[ok], minlength=bins)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[j] = np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)
    return out


def encode_u8(arr: np.ndarray, scale: float) -> str:
    """Quantise ``arr / scale`` (0..1) to bytes 0..254 (255 = missing) and base64-encode
    row-major."""
    q = np.where(np.isfinite(arr), np.clip(np.round(arr / scale * 254), 0, 254), MISSING)
    return base64.b64encode(q.astype(np.uint8).tobytes()).decode("ascii")
