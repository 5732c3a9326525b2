"""Action units from skin motion: dense optical flow from the person's neutral crop to the
current aligned crop, explained as a non-negative mix of per-AU displacement templates.

The face mesh follows small deformations only partly (its shape prior pulls towards an average
face), so geometry alone under-reads subtle actions. Skin motion is what FACS codes: each
action unit moves skin one known way (the templates of :mod:`tells.facs.synth`, which say where
skin moves for each unit at intensity E). The flow between the neutral and the current aligned
crop (OpenCV DIS, a fraction of a millisecond on 128×128) is pooled on a coarse grid, the
similarity left over from alignment jitter and small head rotations (yaw, pitch: flow
proportional to the face's depth) is projected out, and what remains is fitted by
non-negative least squares on the templates. The coefficient of a template is its action
unit's intensity on the 0..5 scale.

Eye closure is not a motion (the lid covers the eye): :func:`eye_darkness` measures how much
dark iris, pupil and lash line the eye openings show; closure is its fall from the neutral.

May import ``tells.face``; nothing from later layers.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from scipy.linalg.lapack import dposv

from tells.face.align import CROP_CENTRE_Y, CROP_UNIT, crop_template
from tells.face.geometry import reference_shape

#: action units read from motion: bilateral ones, then one-sided 12/14 (AU28 lip suck moves skin
#: depressor) is not in the output contract but has a column so a lowered lower lip (disgust
#: 9+15+16, speech) is not explained as another unit.
MOTION_AUS = ["AU01", "AU02", "AU04", "AU05", "AU06", "AU07", "AU09", "AU10", "AU15", "AU17",
              "AU20", "AU23", "AU24", "AU25", "AU26",
              "AU12R", "AU12L", "AU14R", "AU14L"]
#: flow is averaged over POOL×POOL pixel blocks of the crop before fitting
POOL = 4
#: an idle unit is added to the fit only if it alone would read at least this (0..5 scale)
MIN_GAIN = 0.2
#: DIS pyramid level where the flow stops (0 = full resolution) and patch stride (pixels): 7
#: with the preset's 8-pixel patches (they barely overlap) costs 0.6 of the flow's time at
#: stride 5 (about 1.0 against 1.6 ms a 128-pixel crop on the shared 2-core machine), the warp
#: oracle's detection within the pose limit and the agreement with OpenFace 2 as at stride 5
FINEST_SCALE, PATCH_STRIDE = 0, 7
#: eye boxes (head-frame half-width, half-height around each eye centre)
EYE_BOX = (0.17, 0.085)


def _head_grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Head-frame (x, y) of every crop pixel centre."""
    c = (np.arange(size) + 0.5 - size / 2.0) / (CROP_UNIT * size)
    return np.meshgrid(c, c + CROP_CENTRE_Y)


def dense_template(au: str, size: int = 128) -> np.ndarray:
    """(size, size, 2) skin displacement in crop pixels at intensity E for one action unit
    (``"AU06"``, ``"AU12L"``), from the warp oracle's handles evaluated at every pixel.

    The handles' ``lip`` fade (lips that meet thin towards the line they meet at) is left
    out: the templates are the lips-apart version. With the fade, the pressor's template took
    a lower lip moving down on an open mouth (the lips part, AU25) in the fit."""
    from tells.facs.synth import CLOSURE, GAIN, TEMPLATES

    num, side = int(au[2:4]), au[4:]
    if num in CLOSURE:
        raise ValueError("eye closure is not a motion template")
    x, y = _head_grid(size)
    d = np.zeros((size, size, 2))
    for h in TEMPLATES[num]:
        for sgn in (-1.0, 1.0):  # -1: subject's right (x < 0)
            if side and (side == "R") != (sgn < 0):
                continue
            if h.centre[0] == 0.0 and sgn > 0 and not side:
                continue
            cx = sgn * h.centre[0]
            w = np.exp(-((x - cx) ** 2 + (y - h.centre[1]) ** 2) / (2 * h.sigma**2))
            w *= (y >= h.rows[0]) & (y <= h.rows[1])
            if side:
                w *= np.clip(0.5 + sgn * x / 0.1, 0.0, 1.0)
            dx = h.move[0] * (sgn if h.centre[0] != 0.0 else np.sign(x))
            d[..., 0] += w * dx
            d[..., 1] += w * h.move[1]
    return d * GAIN.get(num, 1.0) * CROP_UNIT * size


def _pool(a: np.ndarray) -> np.ndarray:
    n = a.shape[0] // POOL
    return cv2.resize(a.astype(np.float32, copy=False), (n, n), interpolation=cv2.INTER_AREA)


@lru_cache(maxsize=2)
def _face_mask(size: int) -> np.ndarray:
    tpl = crop_template(size)
    hull = cv2.convexHull(np.round(tpl[:468]).astype(np.int32))
    m = np.zeros((size, size), np.float32)
    cv2.fillConvexPoly(m, hull, 1.0)
    return m


@lru_cache(maxsize=2)
def _depth(size: int) -> np.ndarray:
    """Reference face depth (head-frame z, mean removed) at every crop pixel (nearest
    landmark inside the face, mean depth outside)."""
    from scipy.interpolate import griddata

    tpl = crop_template(size)
    z = reference_shape()[:, 2]
    xx, yy = np.meshgrid(np.arange(size) + 0.5, np.arange(size) + 0.5)
    d = griddata(tpl, z, (xx, yy), method="linear", fill_value=float(np.median(z)))
    return d - float(np.mean(d[_face_mask(size) > 0]))


@lru_cache(maxsize=2)
def _basis(size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weight, fit, gram): per-value weight of the pooled flow (face mask), the matrix taking
    weighted pooled flow to template correlations with the nuisance motions projected out,
    and the templates' Gram matrix."""
    mask = _pool(_face_mask(size))
    w = np.sqrt(np.concatenate([mask.ravel(), mask.ravel()]))

    def flat(f: np.ndarray) -> np.ndarray:
        p = _pool(f)
        return np.concatenate([p[..., 0].ravel(), p[..., 1].ravel()]) * w

    # nuisance: translation, rotation, scale (alignment jitter), yaw and pitch (depth parallax)
    xx, yy = np.meshgrid(np.arange(size) + 0.5 - size / 2, np.arange(size) + 0.5 - size / 2)
    z = _depth(size) * CROP_UNIT * size
    one, zero = np.ones_like(xx), np.zeros_like(xx)
    nuis = np.stack([flat(np.dstack(p)) for p in [
        (one, zero), (zero, one), (-yy, xx), (xx, yy), (z, zero), (zero, z)]], axis=1)
    q, _ = np.linalg.qr(nuis)
    temps = np.stack([flat(dense_template(a, size)) for a in MOTION_AUS], axis=1)
    temps -= q @ (q.T @ temps)
    gram = temps.T @ temps
    gram += 1e-3 * np.trace(gram) / len(gram) * np.eye(len(gram))  # ridge: similar templates
    return w.astype(np.float32), temps.T.astype(np.float32).copy(), gram


@lru_cache(maxsize=1)
def _antagonists() -> tuple[tuple[int, int], ...]:
    """Index pairs of :data:`MOTION_AUS` that pull the same skin opposite ways."""
    ix = {n: i for i, n in enumerate(MOTION_AUS)}
    pairs = [("AU15", "AU12R"), ("AU15", "AU12L"), ("AU20", "AU14R"), ("AU20", "AU14L"),
             ("AU10", "AU15")]
    return tuple((ix[a], ix[b]) for a, b in pairs)


def _diag(gram: np.ndarray) -> np.ndarray:
    return gram.diagonal()


#: per Gram matrix (by identity) and active set (its bytes): the Gram's rows and columns of
#: those units as :func:`_solve_positive` cuts them (the same few active sets come back frame
#: after frame); each entry holds its Gram, so that id is not reused while it is cached
_SUB_GRAMS: dict[tuple[int, bytes], tuple[np.ndarray, np.ndarray]] = {}


def _sub_gram(gram: np.ndarray, active: np.ndarray) -> np.ndarray:
    """``gram[active][:, active]``, cached."""
    key = (id(gram), active.tobytes())
    hit = _SUB_GRAMS.get(key)
    if hit is not None and hit[0] is gram:
        return hit[1]
    if len(_SUB_GRAMS) >= 1024:
        _SUB_GRAMS.clear()
    sub = gram[active][:, active]
    _SUB_GRAMS[key] = (gram, sub)
    return sub


def _solve_positive(gram: np.ndarray, c: np.ndarray,
                    active: np.ndarray) -> tuple[np.ndarray, bool]:
    """Least squares on the ``active`` units only (Cholesky solve; the Gram is positive
    definite through its ridge), and whether the solution is positive on all of them
    (``(z[active] > 0).all()``, read off the solve's own output; true of an empty set, which
    the active-set loop reaches when stepping back zeroes its only unit)."""
    z = np.zeros(len(c))
    if not active.any():
        return z, True
    sol = dposv(_sub_gram(gram, active), c[active])[1]
    z[active] = sol
    return z, bool((sol > 0).all())


def _nonneg_solve(gram: np.ndarray, c: np.ndarray,
                  start: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Non-negative least squares on the normal equations (minimise ``a·G·a − 2 c·a`` over
    ``a ≥ 0``), with at most one of each antagonistic pair active.

    Lawson–Hanson active set: add the unit that most reduces the error, re-solve, step back
    to stay non-negative; the weaker of two active antagonists is barred for this fit.
    ``start`` (the previous frame's active units of the same face) usually leaves one or
    two small solves per frame. Antagonists together could explain any movement of their
    skin, e.g. a crying mouth as a 12 and a 15 of intensity 20 each.
    Returns ``(coefficients, active set)``.
    """
    k = len(c)
    x = np.zeros(k)
    active = np.zeros(k, bool)
    barred = np.zeros(k, bool)
    diag = _diag(gram)
    pairs = _antagonists()
    if start is not None:
        trial = start.copy()
        for _ in range(3):  # the previous frame's units, less those that turn negative
            if not trial.any():
                break
            z, positive = _solve_positive(gram, c, trial)
            if positive:
                x, active = z, trial
                break
            trial = trial & (z > 0)
    for _ in range(3 * k):
        for i, j in pairs:
            if active[i] and active[j]:
                weak = j if x[i] >= x[j] else i
                active[weak], barred[weak], x[weak] = False, True, 0.0
        # what each idle unit would read if added alone; units that would not reach
        # MIN_GAIN (far below any dead zone) are not worth a solve
        gain = (c - gram @ x) / diag
        gain[active | barred] = -np.inf
        best = int(gain.argmax())
        if 5.0 * gain[best] <= MIN_GAIN:
            break
        active[best] = True
        for _ in range(k):
            z, positive = _solve_positive(gram, c, active)
            if positive:
                x = z
                break
            neg = active & (z <= 0)
            step = float(np.min(x[neg] / np.maximum(x[neg] - z[neg], 1e-12)))
            x = x + step * (z - x)
            active &= x > 1e-12
            x[~active] = 0.0
    return np.maximum(x, 0.0), active


def new_dis() -> cv2.DISOpticalFlow:
    """A DIS flow object with tells' settings (one per thread that computes flow)."""
    # the ultrafast preset stops at quarter resolution, where a 1–3 px skin movement is lost;
    # half resolution recovers only 35–40 % of a small brow or lid movement (AU 4, 7, 17 at B
    # were missed on most oracle faces); full resolution with a wide patch stride finds them
    # (PATCH_STRIDE)
    dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST)
    dis.setFinestScale(FINEST_SCALE)
    dis.setPatchStride(PATCH_STRIDE)
    return dis


@lru_cache(maxsize=1)
def _dis() -> cv2.DISOpticalFlow:
    return new_dis()


def crop_points(landmarks: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """Mesh points (source pixels) in the aligned crop's pixels (``FaceObservation.crop_matrix``)."""
    lm = np.asarray(landmarks)[:, :2]
    return lm @ matrix[:, :2].T + matrix[:, 2]


def gray(crop: np.ndarray) -> np.ndarray:
    """Gray uint8 of an RGB or gray crop."""
    return cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else np.ascontiguousarray(crop)


def flow(neutral_gray: np.ndarray, gray_now: np.ndarray) -> np.ndarray:
    """(size, size, 2) DIS flow: where each neutral-crop pixel's skin is in the current crop."""
    return _dis().calc(neutral_gray, gray_now, None)


_CROSS = cv2.getStructuringElement(cv2.MORPH_CROSS, (3, 3))


def face_cells(points: np.ndarray, size: int) -> np.ndarray:
    """(size/POOL)² mask of the pooled cells inside the face outline, from the face's mesh
    points in crop pixels (a turned face does not fill the frontal outline)."""
    n = size // POOL
    hull = cv2.convexHull(np.round(np.asarray(points)[:468, :2] / POOL).astype(np.int32))
    m = np.zeros((n, n), np.uint8)
    cv2.fillConvexPoly(m, hull, 1)
    return cv2.dilate(m, _CROSS)


def motion_aus(neutral_gray: np.ndarray, gray_now: np.ndarray,
               points: np.ndarray | None = None, state: dict | None = None,
               dense: np.ndarray | None = None) -> dict[str, float]:
    """Intensities (0..5, before dead zones) of :data:`MOTION_AUS` from the motion between
    this person's neutral crop and the current crop (both gray uint8, same size).

    ``points``: the current face's mesh in crop pixels; flow outside its outline (background,
    border pixels replicated by the alignment) is ignored. ``state``: a dict kept per face
    between frames (the fit starts from the previous frame's active units). ``dense``: the
    :func:`flow` between the two crops if it was computed already (on another thread)."""
    w, fit, gram = _basis(gray_now.shape[0])
    p = _pool(flow(neutral_gray, gray_now) if dense is None else dense)
    if points is not None:
        p *= face_cells(points, gray_now.shape[0])[..., None]
    v = np.concatenate([p[..., 0].ravel(), p[..., 1].ravel()]) * w
    start = state.get("active") if state is not None else None
    a, active = _nonneg_solve(gram, (fit @ v).astype(np.float64), start)
    if state is not None:
        state["active"] = active
    return dict(zip(MOTION_AUS, (5.0 * a).tolist(), strict=True))


@lru_cache(maxsize=2)
def _eye_boxes(size: int) -> tuple[tuple[slice, slice], ...]:
    tpl = crop_template(size)
    unit = CROP_UNIT * size
    boxes = []
    for idx in ((33, 133, 159, 145), (263, 362, 386, 374)):
        cx, cy = tpl[list(idx)].mean(axis=0)
        hw, hh = EYE_BOX[0] * unit, EYE_BOX[1] * unit
        boxes.append((slice(int(cy - hh), int(np.ceil(cy + hh))),
                      slice(int(cx - hw), int(np.ceil(cx + hw)))))
    return tuple(boxes)


def eye_darkness(gray_crop: np.ndarray) -> np.ndarray:
    """(2,) how much dark eye (iris, pupil, lash line, the opening's shadow) each eye box of the
    aligned crop shows: mean of (skin level − pixel)⁺ over the box, skin level being the box's
    80th percentile, divided by the skin level (lighting cancels). Falls as the lids close."""
    out = np.empty(2)
    for i, box in enumerate(_eye_boxes(gray_crop.shape[0])):
        patch = gray_crop[box].ravel().astype(np.float32)
        q = int(0.8 * (patch.size - 1))
        skin = float(np.partition(patch, q)[q])
        out[i] = float(np.maximum(skin - patch, 0.0).mean()) / max(skin, 8.0)
    return out


def motion_evidence(neutral_gray: np.ndarray, gray_now: np.ndarray,
                    points: np.ndarray | None = None, state: dict | None = None,
                    dense: np.ndarray | None = None,
                    neutral_darkness: float | None = None) -> dict[str, float]:
    """:func:`motion_aus` plus ``closure``: the fall of :func:`eye_darkness` (both eyes)
    from the neutral crop to the current one (0 open as at rest, 1 no dark eye left).
    ``neutral_darkness``: the neutral crop's summed eye darkness, if known already."""
    out = motion_aus(neutral_gray, gray_now, points, state, dense)
    dn = (float(eye_darkness(neutral_gray).sum()) if neutral_darkness is None
          else neutral_darkness)
    out["closure"] = 1.0 - float(eye_darkness(gray_now).sum()) / max(dn, 1e-3)
    return out
