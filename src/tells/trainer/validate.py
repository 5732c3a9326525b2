"""Validation and preparation of a stimulus pair (neutral image, expression image).

A pair is usable when both images hold a face, the faces are the same person, and the two
register onto each other (same view, so the flash does not jump). :func:`prepare_pair` checks
all three with :func:`tells.analyze_image`, then warps the expression onto the neutral face and
crops both to the same square, so neutral → expression → neutral changes only the face.

Same person is judged from identity-stable geometry of the pose-normalised (aligned) mesh:
proportions of the eyes' corners, nose bridge, nose width and face width, which expressions
barely move. This is a sanity check against mixed-up files, not face recognition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tells.errors import InputError
from tells.trainer.images import apply_affine, read_rgb, similarity_fit

#: side of the prepared square images in pixels
OUT_SIZE = 480
#: crop side as a multiple of the face box's larger side
CROP_MARGIN = 1.9

# face-mesh landmark indices
_R_OUT, _R_IN, _L_IN, _L_OUT = 33, 133, 362, 263
#: points expressions barely move: eye corners, nose bridge, temples, face sides, forehead
STABLE_POINTS = (33, 133, 362, 263, 168, 6, 197, 234, 454, 127, 356, 10, 109, 338)
#: identity proportions, each a distance between two landmarks divided by the outer-eye span
IDENTITY_PAIRS = (
    (_R_IN, _L_IN),  # inner-eye span
    (_R_OUT, _R_IN),  # right eye width
    (_L_IN, _L_OUT),  # left eye width
    (234, 454),  # face width
    (168, 4),  # nose bridge to nose tip
    (129, 358),  # nose width at the wings
    (10, 168),  # forehead top to nose bridge
    (168, 234),  # nose bridge to right face side
    (168, 454),  # nose bridge to left face side
)

#: identity distance above which two faces are taken for different people (see
#: :func:`identity_distance`; calibrated on the sample media, see tests)
IDENTITY_THRESHOLD = 0.06
#: head-pose difference (radians, pitch or yaw) above which a pair cannot be registered
MAX_POSE_DIFF = 0.26
#: RMS misfit of the stable points after registration, as a fraction of the outer-eye span
MAX_REGISTRATION_RESIDUAL = 0.08


@dataclass
class PreparedPair:
    """A validated pair, registered and cropped to ``OUT_SIZE`` squares."""

    neutral: np.ndarray
    expression: np.ndarray
    #: expression landmarks (478, 2) in pixels of the prepared images
    landmarks: np.ndarray
    identity_distance: float
    registration_residual: float


def identity_signature(aligned: np.ndarray) -> np.ndarray:
    """Identity-stable proportions of an aligned 478-point mesh (see :data:`IDENTITY_PAIRS`)."""
    a = np.asarray(aligned, dtype=np.float64)
    span = np.linalg.norm(a[_R_OUT] - a[_L_OUT])
    if not np.isfinite(span) or span <= 0:
        raise ValueError("degenerate landmarks")
    return np.array([np.linalg.norm(a[i] - a[j]) / span for i, j in IDENTITY_PAIRS])


def identity_distance(aligned_a: np.ndarray, aligned_b: np.ndarray) -> float:
    """Mean relative difference of the identity proportions of two aligned meshes: about 0 for
    the same face, larger for different people."""
    sa, sb = identity_signature(aligned_a), identity_signature(aligned_b)
    return float(np.mean(np.abs(sa - sb) / ((sa + sb) / 2)))


def _main_face(faces: list, label: str, name: str):
    if not faces:
        raise InputError(f"{name}: no face found in the {label} image")
    return max(faces, key=lambda f: float(f.box[2]) * float(f.box[3]))


def prepare_pair(
    neutral: str | Path | np.ndarray,
    expression: str | Path | np.ndarray,
    *,
    name: str = "pair",
    analyze: Callable | None = None,
    identity_threshold: float = IDENTITY_THRESHOLD,
) -> PreparedPair:
    """Validate a neutral/expression pair and register it.

    Parameters
    ----------
    neutral, expression : path or RGB array
        The two images.
    name : str
        What error messages call the pair (an item path, a video event).
    analyze : callable, optional
        Face analysis with the contract of :func:`tells.analyze_image`; defaults to it.
    identity_threshold : float
        Largest :func:`identity_distance` accepted as the same person.

    Raises
    ------
    InputError
        An image cannot be read, holds no face, the faces are different people, or the images
        cannot be registered (different head pose or view). The message names the pair.
    """
    import cv2

    if analyze is None:
        from tells import analyze_image as analyze
    imgs = []
    for label, src in (("neutral", neutral), ("expression", expression)):
        if isinstance(src, np.ndarray):
            imgs.append(src)
            continue
        try:
            imgs.append(read_rgb(src))
        except InputError as exc:
            raise InputError(f"{name}: {label} image: {exc}") from None
    faces = [
        _main_face(list(analyze(img)), label, name)
        for img, label in zip(imgs, ("neutral", "expression"), strict=True)
    ]
    fn, fe = faces
    dist = identity_distance(fn.aligned, fe.aligned)
    if dist > identity_threshold:
        raise InputError(
            f"{name}: the neutral and expression images show different people "
            f"(identity distance {dist:.3f} > {identity_threshold:.3f}); use two photos of the "
            "same person"
        )
    dpose = np.abs(np.asarray(fn.pose[:2], float) - np.asarray(fe.pose[:2], float))
    if float(dpose.max()) > MAX_POSE_DIFF:
        raise InputError(
            f"{name}: the head is turned {np.degrees(dpose.max()):.0f}° differently in the two "
            "images, so they cannot be aligned; use a pair taken from the same view"
        )
    ln = np.asarray(fn.landmarks, float)[:, :2]
    le = np.asarray(fe.landmarks, float)[:, :2]
    idx = list(STABLE_POINTS)
    m = similarity_fit(le[idx], ln[idx])
    span = float(np.linalg.norm(ln[_R_OUT] - ln[_L_OUT]))
    resid = float(np.sqrt(((apply_affine(m, le[idx]) - ln[idx]) ** 2).sum(1).mean()) / span)
    if resid > MAX_REGISTRATION_RESIDUAL:
        raise InputError(
            f"{name}: the two faces do not register onto each other (misfit {resid:.2f} of the "
            "eye span); use a pair taken from the same view"
        )
    # crop: a square around the neutral face, the expression warped into the same frame
    x, y, w, h = (float(v) for v in fn.box)
    side = CROP_MARGIN * max(w, h)
    s = OUT_SIZE / side
    cx, cy = x + w / 2, y + h / 2
    crop = np.array([[s, 0, OUT_SIZE / 2 - s * cx], [0, s, OUT_SIZE / 2 - s * cy]])
    expr_to_crop = crop @ np.vstack([m, [0, 0, 1]])
    size = (OUT_SIZE, OUT_SIZE)
    border = cv2.BORDER_REPLICATE
    out_n = cv2.warpAffine(imgs[0], crop, size, flags=cv2.INTER_AREA, borderMode=border)
    out_e = cv2.warpAffine(imgs[1], expr_to_crop, size, flags=cv2.INTER_AREA, borderMode=border)
    return PreparedPair(
        neutral=out_n,
        expression=out_e,
        landmarks=apply_affine(expr_to_crop, le),
        identity_distance=dist,
        registration_residual=resid,
    )
