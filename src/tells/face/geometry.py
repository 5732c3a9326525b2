"""Rigid geometry on the 478-point mesh: the project's reference face, similarity fits
(Umeyama), head pose as OpenFace-style Euler angles, and the mirror map between left and
right landmarks.

The reference shape (``data/reference_shape.npy``) is the project's own mean face, built by
``scripts/build_reference_shape.py`` from meshes of the sample media: generalised Procrustes
mean, made left/right symmetric, in a head frame where x points to the subject's left (image
right), y down (forehead to chin), z away from the camera; unit = outer eye-corner distance.
Zero pose means the face looks straight at the camera with the forehead-chin line upright.
"""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

import numpy as np

DATA = Path(__file__).parent / "data"

#: landmarks that expressions barely move: forehead, nose bridge and tip, eye corners, cheekbone
#: line at eye level, nose wings. Used for pose and alignment.
RIGID_POINTS = np.array([
    10, 338, 297, 332, 109, 67, 103, 151, 9,  # forehead
    168, 6, 197, 195, 5, 4, 1, 2,  # nose bridge and tip
    33, 133, 362, 263,  # eye corners
    127, 356, 234, 454,  # face sides at eye level
    98, 327,  # nose wings
])
#: points on the face's midline (used to build the reference frame)
MIDLINE_POINTS = np.array([10, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1, 2, 164, 0, 11, 12, 13, 14,
                           15, 16, 17, 18, 200, 199, 175, 152])
RIGHT_EYE_OUTER, LEFT_EYE_OUTER = 33, 263  # subject's right/left


@lru_cache(maxsize=1)
def reference_shape() -> np.ndarray:
    """(478, 3) float64 reference face in the head frame (see module docstring)."""
    return np.load(DATA / "reference_shape.npy").astype(np.float64)


@lru_cache(maxsize=1)
def mirror_index() -> np.ndarray:
    """``mirror_index()[i]`` is the landmark mirroring ``i`` across the midline."""
    return np.load(DATA / "mirror_index.npy").astype(np.int64)


def centred(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, points - mean)`` of (N, D) points as float64 (one side of :func:`umeyama`;
    the mean is ``np.add.reduce / N``, exactly what ``points.mean(0)`` computes, without its
    Python overhead)."""
    x = np.asarray(points, dtype=np.float64)
    mu = np.add.reduce(x, 0) / len(x)
    return mu, x - mu


def frozen(arrays):
    """``arrays`` (a tuple of them) made read-only: cached fixed sides are shared."""
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _det_sign(m: np.ndarray) -> float:
    """The sign of ``det(m)`` for the orthogonal 2×2 and 3×3 matrices of an SVD (det ±1, so
    the cofactor formula's sign is the LU determinant's), else ``np.linalg.det``."""
    if m.shape == (3, 3):
        (a, b, c), (d, e, f), (g, h, i) = m.tolist()
        return a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    if m.shape == (2, 2):
        (a, b), (c, d) = m.tolist()
        return a * d - b * c
    return float(np.linalg.det(m))


def umeyama(src: np.ndarray, dst: np.ndarray, scale: bool = True, *, src_centred=None,
            dst_centred=None):
    """Least-squares similarity ``dst ≈ s * R @ src + t`` (Umeyama 1991).

    Parameters
    ----------
    src, dst : (N, D) arrays of corresponding points.
    scale : fit a scale factor (otherwise ``s = 1``).
    src_centred, dst_centred : :func:`centred` of ``src`` / ``dst`` when already known (a
        fixed reference side is centred once, not on every frame); that side's points may
        then be ``None``.

    Returns
    -------
    s : float, R : (D, D) rotation (det +1), t : (D,) translation.
    """
    mu_s, a = src_centred if src_centred is not None else centred(src)
    mu_d, b = dst_centred if dst_centred is not None else centred(dst)
    cov = b.T @ a / len(a)
    u, d, vt = _svd(cov)
    if _det_sign(u) * _det_sign(vt) < 0:  # a reflection: flip the last axis
        u, d = u.copy(), d.copy()
        u[:, -1] *= -1.0
        d[-1] *= -1.0
    rot = u @ vt
    s = float(d.sum() / _sum_sq(a) * len(a)) if scale else 1.0
    t = mu_d - s * rot @ mu_s
    return s, rot, t


def _svd_gufunc():
    """numpy's own SVD kernel (what ``np.linalg.svd`` calls for a real square matrix, with
    ``full_matrices``), without the wrapper's per-call checks; ``None`` if this numpy has it
    elsewhere."""
    try:
        from numpy.linalg import _umath_linalg
        return _umath_linalg.svd_n_f
    except (ImportError, AttributeError):
        return None


_SVD_KERNEL = _svd_gufunc()


def _svd(m: np.ndarray):
    """``np.linalg.svd(m)`` of a finite float64 square matrix: the same kernel and result.
    Anything else (``np.linalg.svd`` raises on a non-finite one), or a numpy without that
    kernel, goes through ``np.linalg.svd``; so would a matrix the kernel fails on."""
    if (_SVD_KERNEL is None or m.dtype != np.float64 or m.ndim != 2
            or m.shape[0] != m.shape[1] or not math.isfinite(np.add.reduce(m, None))):
        return np.linalg.svd(m)
    u, d, vt = _SVD_KERNEL(m, signature="d->ddd")
    if not math.isfinite(d.sum()):  # did not converge: np.linalg.svd raises
        return np.linalg.svd(m)
    return u, d, vt


#: ``(a**2).sum()`` of the read-only (cached, :func:`frozen`) sides of fits, by identity
_SUM_SQ: dict[int, tuple[np.ndarray, float]] = {}


def _sum_sq(a: np.ndarray):
    """``(a**2).sum()``; computed once for a read-only array owning its data (a fixed side
    of a fit, made read-only by :func:`frozen`)."""
    if a.flags.writeable or a.base is not None:
        return (a**2).sum()
    hit = _SUM_SQ.get(id(a))
    if hit is None or hit[0] is not a:
        if len(_SUM_SQ) >= 64:
            _SUM_SQ.clear()
        hit = _SUM_SQ[id(a)] = (a, (a**2).sum())
    return hit[1]


def rotation_to_euler(rot: np.ndarray) -> tuple[float, float, float]:
    """OpenFace convention: ``R = Rx @ Ry @ Rz``; returns (Rx pitch, Ry yaw, Rz roll) in
    radians, camera frame x right, y down, z away from the camera."""
    (r00, r01, r02), (r10, r11, r12), (r20, r21, r22) = np.asarray(rot).tolist()
    q0 = np.sqrt(max(1e-12, 1 + r00 + r11 + r22)) / 2
    q1 = (r21 - r12) / (4 * q0)
    q2 = (r02 - r20) / (4 * q0)
    q3 = (r10 - r01) / (4 * q0)
    t1 = 2 * (q0 * q2 + q1 * q3)
    yaw = float(np.arcsin(min(max(t1, -1.0), 1.0)))  # np.clip's value (NaN stays NaN)
    pitch = float(np.arctan2(2 * (q0 * q1 - q2 * q3), q0**2 - q1**2 - q2**2 + q3**2))
    roll = float(np.arctan2(2 * (q0 * q3 - q1 * q2), q0**2 + q1**2 - q2**2 - q3**2))
    return pitch, yaw, roll


def head_pose(landmarks: np.ndarray):
    """Fit the reference face to a mesh.

    Returns ``(s, R, t, euler)`` where ``landmarks[RIGID] ≈ s R ref[RIGID] + t`` and
    ``euler = (Rx, Ry, Rz)`` radians.
    """
    s, rot, t = umeyama(None, landmarks[RIGID_POINTS], src_centred=_reference_rigid())
    return s, rot, t, rotation_to_euler(rot)


@lru_cache(maxsize=1)
def _reference_rigid() -> tuple[np.ndarray, np.ndarray]:
    """:func:`centred` of the reference face's rigid points (the fixed side of the pose fit)."""
    return frozen(centred(reference_shape()[RIGID_POINTS]))


def to_head_frame(landmarks: np.ndarray, s: float, rot: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Pose-normalised landmarks: undo the fitted similarity so the face is in the reference
    head frame (frontal, unit eye-corner distance)."""
    return ((landmarks - t) @ rot) / s


def similarity_matrix(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """2×3 matrix (for ``cv2.warpAffine``) of the least-squares similarity taking 2-D points
    ``src`` onto ``dst`` (extra columns are ignored)."""
    s, rot, t = umeyama(np.asarray(src, dtype=np.float64)[:, :2],
                        np.asarray(dst, dtype=np.float64)[:, :2])
    return np.hstack([s * rot, t[:, None]])
