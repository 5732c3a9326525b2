"""Measurements of one face that FACS action units are read from.

Geometry comes from the pose-normalised mesh (:attr:`FaceObservation.aligned`: frontal head
frame, x to the subject's left, y down, z away from the camera, unit = outer eye-corner
distance), so head turns and camera distance are already factored out. Appearance comes from
the aligned 128×128 crop: wrinkle energy in small patches where the geometry of the mesh is
weak (furrows between the brows, the nose bridge, crow's feet, the forehead lines of the inner
brow raiser).

Each measurement is signed so that it *grows* with the action it serves; the action units
(:mod:`tells.facs.aus`) read their difference from the person's neutral face.

May import ``tells.face``; nothing from later layers.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from tells.face.align import crop_template

# --- mesh landmarks (mediapipe 478-point refined mesh; first tuple: subject's right side) ----
BROW_INNER = ((107, 55, 66, 65), (336, 285, 296, 295))
BROW_OUTER = ((70, 46, 63, 53), (300, 276, 293, 283))
EYE_CORNERS = ((33, 133), (263, 362))
UPPER_LID = ((159, 158, 160), (386, 385, 387))
LOWER_LID = ((145, 144, 153), (374, 373, 380))
IRIS = (468, 473)
CHEEK = ((117, 118, 50, 101, 36, 205), (346, 347, 280, 330, 266, 425))
NOSE_WING = ((64, 48, 129, 102), (294, 278, 358, 331))
UPPER_LIP_OUTER = (0, 37, 267, 39, 269)
UPPER_LIP_INNER = (13, 82, 312)
LOWER_LIP_INNER = (14, 87, 317)
LOWER_LIP_OUTER = (17, 84, 314)
MOUTH_CORNER = (61, 291)
CHIN = (152, 175, 199)
CHIN_BOSS = (200, 18)
NASAL_BASE = (2, 164)

#: names of the measurements, in the order of :func:`measure`'s vector
NAMES = [
    "brow_in_raise_R", "brow_in_raise_L",   # inner brow height above the inner eye corner
    "brow_out_raise_R", "brow_out_raise_L",  # outer brow height
    "brow_squeeze",                          # inner brows drawn together (+)
    "lid_up_R", "lid_up_L",                  # upper lid height above the iris centre
    "lid_lo_raise_R", "lid_lo_raise_L",      # lower lid raised towards the corner line
    "eye_open_R", "eye_open_L",              # lid-to-lid aperture
    "cheek_raise_R", "cheek_raise_L",        # cheek height
    "nose_wing_raise",                       # nose wings height
    "upper_lip_raise",                       # upper lip height below the nose
    "corner_raise_R", "corner_raise_L",      # lip corner height relative to the lip midline
    "corner_out_R", "corner_out_L",          # lip corner distance from the face midline
    "corner_back_R", "corner_back_L",        # lip corner depth (away from camera = +)
    "lip_thick",                             # red-lip thickness, upper + lower
    "lip_gap",                               # inner lip gap
    "jaw_drop",                              # chin height below the eye line
    "chin_raise",                            # chin boss raised towards the lower lip
    "tex_glabella",                          # vertical furrows between the brows
    "tex_nose",                              # horizontal wrinkles on the nose bridge
    "tex_crow_R", "tex_crow_L",              # crow's feet by the outer eye corners
    "tex_forehead",                          # horizontal lines across the mid forehead
]
INDEX = {n: i for i, n in enumerate(NAMES)}
N_GEOMETRY = INDEX["tex_glabella"]


#: the mesh widens the mouth on the side turned away from the camera: lip corner distance
#: asymmetry per radian of yaw (fitted on WolfgangLanger_Pexels.mp4, yaw −0.23..0.32 rad)
CORNER_YAW_SLOPE = 0.35


def _groups() -> list[tuple[int, ...]]:
    """Landmark groups whose mean position the measurements use (order matters)."""
    g: list[tuple[int, ...]] = []
    for s in (0, 1):
        g += [BROW_INNER[s], BROW_OUTER[s], EYE_CORNERS[s], UPPER_LID[s], LOWER_LID[s],
              CHEEK[s], (IRIS[s],), NOSE_WING[s]]
    g += [NASAL_BASE, UPPER_LIP_OUTER, UPPER_LIP_INNER, LOWER_LIP_INNER, CHIN, CHIN_BOSS,
          (0,), (17,), MOUTH_CORNER[:1], MOUTH_CORNER[1:]]
    return g


@lru_cache(maxsize=2)
def _group_matrix(n: int) -> np.ndarray:
    groups = _groups()
    m = np.zeros((len(groups), n))
    for i, idx in enumerate(groups):
        m[i, list(idx)] = 1.0 / len(idx)
    return m


def measure_geometry(aligned: np.ndarray, yaw: float = 0.0) -> np.ndarray:
    """Geometric measurements of one face (see :data:`NAMES`), in eye-corner-distance units.

    Parameters
    ----------
    aligned : (478, 3) pose-normalised landmarks (:attr:`FaceObservation.aligned`; the 468
        point mesh without iris points is accepted, the iris then taken as the eye centre).
    yaw : head yaw in radians (``pose[1]``), to undo the mesh's yaw bias of the lip corners.

    Returns
    -------
    (N_GEOMETRY,) float64 array.
    """
    a = np.asarray(aligned, dtype=np.float64)
    if len(a) < 478:  # no iris refinement: the eye centre stands in for the iris
        a = np.vstack([a, np.zeros((478 - len(a), 3))])
        a[468] = a[list(EYE_CORNERS[0] + UPPER_LID[0] + LOWER_LID[0])].mean(axis=0)
        a[473] = a[list(EYE_CORNERS[1] + UPPER_LID[1] + LOWER_LID[1])].mean(axis=0)
    # group means, (groups, 3), as plain floats (same IEEE arithmetic as numpy scalars, a
    # fraction of the cost)
    g = (_group_matrix(len(a)) @ a).tolist()
    (bi_r, bo_r, ec_r, ul_r, ll_r, ch_r, ir_r, nw_r,
     bi_l, bo_l, ec_l, ul_l, ll_l, ch_l, ir_l, nw_l,
     nasal, up_out, up_in, lo_in, chin, boss, p0, p17, c_r, c_l) = g
    ec_in = (a[EYE_CORNERS[0][1]], a[EYE_CORNERS[1][1]])
    out = np.empty(N_GEOMETRY)
    for s, (bi, bo, ec, ul, ll, ch, ir) in enumerate(((bi_r, bo_r, ec_r, ul_r, ll_r, ch_r, ir_r),
                                                       (bi_l, bo_l, ec_l, ul_l, ll_l, ch_l, ir_l))):
        out[0 + s] = ec_in[s][1] - bi[1]
        out[2 + s] = -bo[1]
        out[5 + s] = ir[1] - ul[1]
        out[7 + s] = ec[1] - ll[1]
        out[9 + s] = ll[1] - ul[1]
        out[11 + s] = -ch[1]
    out[4] = -(bi_l[0] - bi_r[0])
    out[13] = -0.5 * (nw_r[1] + nw_l[1])
    out[14] = nasal[1] - up_out[1]
    mid_y = 0.5 * (up_in[1] + lo_in[1])
    mid_x = 0.5 * (p0[0] + p17[0])
    mid_z = 0.5 * (p0[2] + p17[2])
    for s, c in enumerate((c_r, c_l)):
        out[15 + s] = mid_y - c[1]
        out[17 + s] = abs(c[0] - mid_x) + (0.5 - s) * CORNER_YAW_SLOPE * yaw
        out[19 + s] = c[2] - mid_z
    out[21] = (up_in[1] - p0[1]) + (p17[1] - lo_in[1])
    out[22] = max(0.0, lo_in[1] - up_in[1])
    out[23] = chin[1]
    out[24] = -(boss[1] - p17[1]) - (chin[1] - p17[1])
    return out


@lru_cache(maxsize=4)
def _patches(size: int) -> tuple[tuple[slice, slice], ...]:
    """Crop-pixel windows (rows, cols) for the appearance measurements."""
    tpl = crop_template(size)

    def box(cx: float, cy: float, hw: float, hh: float) -> tuple[slice, slice]:
        r0, r1 = int(round(cy - hh)), int(round(cy + hh))
        c0, c1 = int(round(cx - hw)), int(round(cx + hw))
        return (slice(max(0, r0), min(size, r1)), slice(max(0, c0), min(size, c1)))

    unit = float(np.linalg.norm(tpl[263] - tpl[33]))
    gl = 0.5 * (tpl[107] + tpl[336])
    nose = tpl[168] + 0.35 * (tpl[6] - tpl[168])
    crow_r = tpl[33] + np.array([-0.10, 0.02]) * unit
    crow_l = tpl[263] + np.array([0.10, 0.02]) * unit
    # the inner brow raiser's lines run across the middle of the forehead: halfway from the
    # inner brow ends to the mesh's forehead point 151 (the outer brow raiser's, above the
    # outer brows, lie where hair often falls: their patches read hair strands)
    brows = 0.5 * (tpl[list(BROW_INNER[0])].mean(axis=0) + tpl[list(BROW_INNER[1])].mean(axis=0))
    mid = brows + 0.5 * (tpl[151] - brows)
    return (
        box(gl[0], gl[1] + 0.04 * unit, 0.12 * unit, 0.08 * unit),
        box(nose[0], nose[1], 0.10 * unit, 0.07 * unit),
        box(crow_r[0], crow_r[1], 0.07 * unit, 0.10 * unit),
        box(crow_l[0], crow_l[1], 0.07 * unit, 0.10 * unit),
        box(mid[0], mid[1], 0.22 * unit, 0.09 * unit),
    )


#: the wrinkle direction of each appearance patch: furrows between the brows run vertically
#: (curvature along x, axis 1); nose wrinkles, crow's feet and the forehead lines of the inner
#: brow raiser run (roughly) horizontally (curvature along y, axis 0)
_PATCH_AXES = (1, 0, 0, 0, 0)


def measure_appearance(crop: np.ndarray | None) -> np.ndarray:
    """Wrinkle energy in five patches of the aligned crop (see :data:`NAMES`).

    The energy is the mean absolute second derivative across the wrinkle direction, divided by
    the patch's mean brightness, so lighting level cancels out.

    Parameters
    ----------
    crop : aligned face crop (:attr:`FaceObservation.crop`), RGB or gray uint8; ``None`` gives
        zeros.
    """
    if crop is None:
        return np.zeros(len(NAMES) - N_GEOMETRY)
    gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
    size = gray.shape[0]
    gather = _gather(size) if gray.dtype == np.uint8 and gray.shape == (size, size) else None
    if gather is None:
        return np.array([_energy(gray[box], axis)
                         for box, axis in zip(_patches(size), _PATCH_AXES, strict=True)])
    return _energies(np.ascontiguousarray(gray).ravel(), *gather)


@lru_cache(maxsize=4)
def _gather(size: int) -> tuple[np.ndarray, ...] | None:
    """Flat pixel indices of all five patches of a ``size``² crop at once, for
    :func:`_energies`: ``(neighbours, diff_starts, diff_counts, pixels, pixel_starts,
    pixel_counts)``, ``neighbours`` being (3, n) indices of each second difference's three
    pixels; ``None`` if a patch is too small or too large for :func:`_energy`'s integer
    path."""
    trip, starts, counts, pix, pstarts, pcounts = [], [], [], [], [], []
    for (rows, cols), axis in zip(_patches(size), _PATCH_AXES, strict=True):
        flat = np.arange(size * size).reshape(size, size)[rows, cols]
        if flat.size == 0 or min(flat.shape) < 3 or flat.size * 1020 >= 2**24:
            return None
        if axis == 0:
            t = np.stack([flat[:-2], flat[1:-1], flat[2:]])
        else:
            t = np.stack([flat[:, :-2], flat[:, 1:-1], flat[:, 2:]])
        starts.append(sum(counts))
        counts.append(t[0].size)
        trip.append(t.reshape(3, -1))
        pstarts.append(sum(pcounts))
        pcounts.append(flat.size)
        pix.append(flat.ravel())
    return (np.concatenate(trip, axis=1), np.array(starts), np.array(counts, np.float64),
            np.concatenate(pix), np.array(pstarts), np.array(pcounts, np.float64))


def _energies(flat: np.ndarray, neighbours: np.ndarray, starts: np.ndarray,
              counts: np.ndarray, pixels: np.ndarray, pstarts: np.ndarray,
              pcounts: np.ndarray) -> np.ndarray:
    """:func:`_energy` of every patch of :func:`_gather` from the crop's flat uint8 pixels,
    in a few array operations: the same integer sums (second differences in int16, sums in
    int64) and the same float arithmetic, element by element (the sum over the count in
    float64, rounded to float32; the first over the larger of 8 and the second)."""
    q = flat.take(neighbours).astype(np.int16)
    d = q[0] + q[2]
    d -= q[1]
    d -= q[1]
    s2 = np.add.reduceat(np.abs(d, out=d), starts, dtype=np.int64)
    s1 = np.add.reduceat(flat.take(pixels), pstarts, dtype=np.int64)
    d2 = (s2 / counts).astype(np.float32).astype(np.float64)
    level = (s1 / pcounts).astype(np.float32).astype(np.float64)
    return d2 / np.maximum(8.0, level)


def _energy(patch: np.ndarray, axis: int) -> float:
    """Mean absolute second difference of a uint8 ``patch`` along ``axis`` over its mean
    level. Exactly what the float32 version (``np.abs(np.diff(p, n=2, axis)).mean()`` over
    ``p.mean()``, ``p`` the patch as float32) gives, in integers: every partial sum of pixel
    values is an integer below 2**24, so float32 holds it exactly and only the final division
    rounds, done here in float32 as ``mean`` does."""
    if patch.size == 0 or min(patch.shape) < 3:
        return 0.0
    if patch.size * 1020 >= 2**24:  # sums no longer exact in float32: the float version
        f = patch.astype(np.float32)
        return float(np.abs(np.diff(f, n=2, axis=axis)).mean() / max(8.0, float(f.mean())))
    p = patch.astype(np.int32)
    d = p[1:] - p[:-1] if axis == 0 else p[:, 1:] - p[:, :-1]
    d = d[1:] - d[:-1] if axis == 0 else d[:, 1:] - d[:, :-1]
    d2 = np.float32(int(np.abs(d).sum())) / d.size
    level = np.float32(int(p.sum())) / p.size
    return float(np.float32(d2) / max(8.0, float(np.float32(level))))


def measure(aligned: np.ndarray, crop: np.ndarray | None = None, yaw: float = 0.0) -> np.ndarray:
    """All measurements (:data:`NAMES`) of one face: geometry then appearance."""
    return np.concatenate([measure_geometry(aligned, yaw), measure_appearance(crop)])
