"""Validation and preparation of a stimulus pair (neutral image, expression image).

A pair is usable when both images hold a face, the faces are the same person, and the two
register onto each other (same view, so the flash does not jump). :func:`prepare_pair` checks
all three with :func:`tells.analyze_image`, then warps the expression onto the neutral face and
crops both to the same square, so neutral → expression → neutral changes only the face.

Same person is judged from the colour of the pose-normalised face crop (a histogram of the
chroma channels a*, b* of CIELAB: skin, lips, hair, eye colour), which an expression barely
changes and lightness changes do not enter. On the sample media the proportions of the aligned
mesh (eye, nose and face-width ratios) did not separate people (the within-person spread over
one expressive video was larger than the gap between different people), so they are not used.
This is a sanity check against mixed-up files, not face recognition.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tells.errors import InputError
from tells.face.geometry import similarity_matrix as similarity_fit
from tells.trainer.images import apply_affine, read_rgb

#: side of the prepared square images in pixels
OUT_SIZE = 480
#: crop side as a multiple of the face box's larger side
CROP_MARGIN = 1.6

# face-mesh landmark indices
_R_OUT, _L_OUT = 33, 263
#: points expressions barely move: eye corners, nose bridge, temples, face sides, forehead
STABLE_POINTS = (33, 133, 362, 263, 168, 6, 197, 234, 454, 127, 356, 10, 109, 338)

#: identity distance above which two faces are taken for different people. On the sample
#: media (tests/test_trainer_validate.py) one person over an expressive video stays below 0.075
#: and the closest two different people are 0.10 apart.
IDENTITY_THRESHOLD = 0.09
#: head-pose difference (radians, pitch or yaw) above which a pair cannot be registered
MAX_POSE_DIFF = 0.26
#: RMS misfit of the stable points after registration, as a fraction of the outer-eye span
MAX_REGISTRATION_RESIDUAL = 0.08
#: ... for a warp of the neutral image (``same_frame``): the misfit is then how far the warp
#: moved the stable points, and a full expression's raised brows and dropped jaw move the
#: forehead and face-side points more than a camera's jitter would
MAX_WARP_RESIDUAL = 0.12


@dataclass
class PreparedPair:
    """A validated pair, registered and cropped to ``OUT_SIZE`` squares."""

    neutral: np.ndarray
    expression: np.ndarray
    #: expression landmarks (478, 2) in pixels of the prepared images
    landmarks: np.ndarray
    identity_distance: float
    registration_residual: float
    #: 2×3 matrix taking the neutral image's pixels to the prepared square
    crop: np.ndarray | None = None


def _chroma_hist(crop: np.ndarray) -> np.ndarray:
    import cv2

    rgb = np.ascontiguousarray(crop, dtype=np.uint8)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[:, :, None], 3, axis=2)
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    h = cv2.calcHist([lab], [1, 2], None, [16, 16], [0, 256, 0, 256])
    return h / max(float(h.sum()), 1.0)


def identity_distance(crop_a: np.ndarray, crop_b: np.ndarray) -> float:
    """Bhattacharyya distance (0 same, 1 disjoint) between the a*/b* chroma histograms of two
    pose-normalised face crops: small for one person, larger for different people."""
    import cv2

    return float(cv2.compareHist(_chroma_hist(crop_a), _chroma_hist(crop_b),
                                 cv2.HISTCMP_BHATTACHARYYA))


def crop_matrix(box) -> np.ndarray:
    """2×3 matrix taking image pixels to the ``OUT_SIZE`` square around a face box
    (x, y, w, h): :data:`CROP_MARGIN` times its larger side."""
    x, y, w, h = (float(v) for v in box)
    s = OUT_SIZE / (CROP_MARGIN * max(w, h))
    cx, cy = x + w / 2, y + h / 2
    return np.array([[s, 0, OUT_SIZE / 2 - s * cx], [0, s, OUT_SIZE / 2 - s * cy]])


def crop_frame(image: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """``image`` resampled to the prepared square by :func:`crop_matrix`'s ``matrix``."""
    import cv2

    return cv2.warpAffine(image, matrix, (OUT_SIZE, OUT_SIZE), flags=cv2.INTER_AREA,
                          borderMode=cv2.BORDER_CONSTANT, borderValue=(40, 40, 40))


def main_face(faces: list, label: str, name: str, near=None):
    """The face to use: the one whose box centre is nearest ``near`` (x, y, w, h) when given,
    else the largest."""
    if not faces:
        raise InputError(f"{name}: no face found in the {label} image")
    if near is not None:
        cx, cy = near[0] + near[2] / 2, near[1] + near[3] / 2
        return min(faces, key=lambda f: (f.box[0] + f.box[2] / 2 - cx) ** 2
                   + (f.box[1] + f.box[3] / 2 - cy) ** 2)
    return max(faces, key=lambda f: float(f.box[2]) * float(f.box[3]))


def prepare_pair(
    neutral: str | Path | np.ndarray,
    expression: str | Path | np.ndarray,
    *,
    name: str = "pair",
    analyze: Callable | None = None,
    identity_threshold: float = IDENTITY_THRESHOLD,
    near: tuple | None = None,
    same_frame: bool = False,
) -> PreparedPair:
    """Validate a neutral/expression pair and register it.

    Parameters
    ----------
    neutral, expression : path or RGB array
        The two images.
    name : str
        What error messages call the pair (an item path, a video event).
    analyze : callable, optional
        Face analysis with the contract of :func:`tells.analyze_image` (faces with ``.box``,
        ``.pose``, ``.landmarks`` and the aligned face ``.crop``); defaults to it.
    identity_threshold : float
        Largest :func:`identity_distance` accepted as the same person.
    near : (x, y, w, h), optional
        With several faces, use the one nearest this box (default: the largest).
    same_frame : bool
        The expression was made from the neutral image by a warp, so its pixels are already in
        the neutral's frame: it is checked like any pair (the misfit is then how far the warp
        moved the stable points) but not moved, so nothing outside the face changes.

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
        main_face(list(analyze(img)), label, name, near)
        for img, label in zip(imgs, ("neutral", "expression"), strict=True)
    ]
    fn, fe = faces
    dist = identity_distance(fn.crop, fe.crop)
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
    m = np.eye(2, 3) if same_frame else similarity_fit(le[idx], ln[idx])
    span = float(np.linalg.norm(ln[_R_OUT] - ln[_L_OUT]))
    resid = float(np.sqrt(((apply_affine(m, le[idx]) - ln[idx]) ** 2).sum(1).mean()) / span)
    if resid > (MAX_WARP_RESIDUAL if same_frame else MAX_REGISTRATION_RESIDUAL):
        raise InputError(
            f"{name}: the two faces do not register onto each other (misfit {resid:.2f} of the "
            "eye span); use a pair taken from the same view"
        )
    # crop: a square around the neutral face, the expression warped into the same frame
    crop = crop_matrix(fn.box)
    expr_to_crop = crop @ np.vstack([m, [0, 0, 1]])
    size = (OUT_SIZE, OUT_SIZE)
    kw = dict(flags=cv2.INTER_AREA, borderMode=cv2.BORDER_CONSTANT, borderValue=(40, 40, 40))
    out_n = cv2.warpAffine(imgs[0], crop, size, **kw)
    out_e = cv2.warpAffine(imgs[1], expr_to_crop, size, **kw)
    return PreparedPair(
        crop=crop,
        neutral=out_n,
        expression=out_e,
        landmarks=apply_affine(expr_to_crop, le),
        identity_distance=dist,
        registration_residual=resid,
    )
