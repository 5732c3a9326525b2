"""A FACS test oracle: deform a real face photo to show chosen action units.

Each action unit has one landmark displacement template on the reference face
(:data:`TEMPLATES`, head-frame units, at intensity E = 5); templates scale linearly with
intensity and add up. The displacements are posed like the face in the photo (the fitted
similarity of :func:`tells.face.geometry.head_pose`) and spread to a smooth dense field by a
thin-plate spline through the 478 landmarks and a ring of fixed anchors around the face; the
photo is resampled along it. Where lips part or eyes close, the new mouth opening is shaded dark
and the closed eye is covered with lid-coloured skin.

Skin does not only move; it folds and bulges. :data:`WRINKLES` adds the appearance changes FACS
describes for each unit (AU1/2 horizontal forehead lines, AU4 vertical furrows between the
brows, AU6 crow's feet, raised cheeks and the lower-lid furrow, AU9 wrinkles on the nose
bridge, AU10/12 a deeper nasolabial furrow, AU14 the dimple, AU15 lines below the lip corners,
AU17 the chin boss, AU23/24 the pressed lips and the bulges beside them) as shading: dark folds
with a light edge above them, and light bulges with a shadow below, drawn on the warped face
and deepening with intensity (``synth_face(..., appearance=True)``; the oracle uses the
geometry alone).

Examples
--------
>>> from tells.io.image import read_image                                 # doctest: +SKIP
>>> smile = synth_face(read_image("face.jpg"), "6+12")                      # doctest: +SKIP
>>> smirk = synth_face(read_image("face.jpg"), {"AU12R": 1.0, "AU14R": 1.0})  # doctest: +SKIP
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from tells.errors import InputError
from tells.face.geometry import head_pose, reference_shape

LETTERS = {"A": 1.0, "B": 2.0, "C": 3.0, "D": 4.0, "E": 5.0}
_CODE = re.compile(r"^(?:AU)?([LR]?)(\d{1,2})([LR]?)([A-E]?)$", re.IGNORECASE)

INNER_LIPS = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87,
              178, 88, 95]
EYES = ([33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7],
        [263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249])
UPPER_LIDS = ([246, 161, 160, 159, 158, 157, 173], [466, 388, 387, 386, 385, 384, 398])
LOWER_LIDS = ([7, 163, 144, 145, 153, 154, 155], [249, 390, 373, 374, 380, 381, 382])
#: the iris centre and its four rim points in the face mesh, by eye (as :data:`EYES`)
IRIS = ((468, 469, 470, 471, 472), (473, 474, 475, 476, 477))
#: the lip line (head-frame y) separating upper-lip and lower-lip/jaw landmarks
LIP_LINE = 0.245
#: the row of mesh points along the fold of each upper lid, above :data:`UPPER_LIDS`
LID_FOLDS = ([247, 30, 29, 27, 28, 56, 190], [467, 260, 259, 257, 258, 286, 414])
#: the head-frame y separating every upper-lip landmark (mouth corners included, y ≤ 0.224 on
#: the reference face) from every lower-lip one (y ≥ 0.243), for the handles that move the
#: lips towards each other
LIP_SPLIT = 0.235
#: the inner contours of the upper and lower lip (mouth corner to mouth corner)
UPPER_INNER = [78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308]
LOWER_INNER = [78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308]
#: distance (head frame) from the inner lip line over which a ``lip`` handle fades in
LIP_FADE = 0.05


@dataclass(frozen=True)
class Handle:
    """Move landmarks near ``centre`` (x, y; x mirrored for both sides unless ``side``) by
    ``move`` (dx outward from the midline, dy down), with Gaussian falloff ``sigma`` and only
    within head-frame rows ``rows`` (y range) and, with ``lip``, on one side of the lips."""

    centre: tuple[float, float]
    move: tuple[float, float]
    sigma: float
    rows: tuple[float, float] = (-9.0, 9.0)
    #: -1 / +1: upper / lower lip side only, fading in from the inner lip line over
    #: :data:`LIP_FADE` (lips pressed or pushed together thin towards the line they meet at;
    #: moving the inner lip points themselves would fold one lip over the other)
    lip: int = 0
    #: (top, bottom): the weight fades in over these distances inside the edges of ``rows``
    #: instead of stopping at them (0: a hard edge; one through a brow moves part of it)
    soft: tuple[float, float] = (0.0, 0.0)


#: displacement templates at intensity E (5), by action unit; all in eye-corner distances
TEMPLATES: dict[int, list[Handle]] = {
    1: [Handle((0.17, -0.66), (0.0, -0.10), 0.14, (-9, -0.5))],                 # inner brow up
    2: [Handle((0.60, -0.62), (0.0, -0.10), 0.17, (-9, -0.5))],                 # outer brow up
    4: [Handle((0.22, -0.67), (-0.045, 0.06), 0.22, (-9, -0.5))],               # brows down, in
    5: [Handle((0.35, -0.50), (0.0, -0.055), 0.10, (-0.62, -0.445))],          # upper lid up
    6: [Handle((0.48, -0.22), (0.0, -0.07), 0.20, (-0.43, 0.2)),                # cheek up
        Handle((0.35, -0.41), (0.0, -0.03), 0.10, (-0.435, 0.2))],              # lower lid up
    7: [Handle((0.35, -0.41), (0.0, -0.04), 0.09, (-0.435, -0.2))],             # lower lid up
    9: [Handle((0.20, -0.08), (0.0, -0.06), 0.13, (-0.35, LIP_LINE)),           # nose wings up
        Handle((0.17, -0.64), (0.0, 0.03), 0.15, (-9, -0.5))],                  # brows pulled down
    10: [Handle((0.10, 0.13), (0.0, -0.07), 0.13, (-0.05, LIP_LINE))],          # upper lip up
    12: [Handle((0.33, 0.22), (0.05, -0.085), 0.14, (-0.3, 9))],                # corner up, out
    14: [Handle((0.33, 0.22), (-0.06, -0.01), 0.10, (-0.1, 9))],                # corner in
    15: [Handle((0.33, 0.23), (0.0, 0.06), 0.12, (0.0, 9))],                    # corner down
    16: [Handle((0.0, 0.33), (0.0, 0.05), 0.14, (LIP_LINE, 9))],                # lower lip down
    17: [Handle((0.0, 0.52), (0.0, -0.07), 0.18, (LIP_SPLIT, 9), 1)],            # chin boss up
    20: [Handle((0.33, 0.22), (0.08, 0.01), 0.14, (0.0, 9))],                   # corner sideways
    23: [Handle((0.0, 0.15), (0.0, 0.025), 0.16, (0.0, LIP_SPLIT), -1),          # lips narrow
         Handle((0.0, 0.37), (0.0, -0.025), 0.16, (LIP_SPLIT, 0.5), 1),
         Handle((0.33, 0.22), (-0.03, 0.0), 0.10, (0.0, 0.5))],
    24: [Handle((0.0, 0.15), (0.0, 0.04), 0.18, (0.0, LIP_SPLIT), -1),           # lips pressed
         Handle((0.0, 0.37), (0.0, -0.04), 0.18, (LIP_SPLIT, 0.5), 1)],
    25: [Handle((0.0, 0.30), (0.0, 0.14), 0.22, (LIP_LINE, 9))],                # lower lip down
    26: [Handle((0.0, 0.60), (0.0, 0.20), 0.45, (LIP_LINE, 9))],                # jaw down
    28: [Handle((0.0, 0.15), (0.0, 0.07), 0.18, (0.0, LIP_SPLIT), -1),           # lips sucked in
         Handle((0.0, 0.37), (0.0, -0.07), 0.18, (LIP_SPLIT, 0.5), 1)],
}
#: the face mesh follows a warp only partly (its shape prior pulls towards an average face);
#: these gains scale templates whose movement the mesh under-reads, set from the oracle's
#: read-back on single_face.mp4 frame 0 and WolfgangLanger_Pexels.mp4 frame 0
GAIN = {1: 1.6, 2: 1.7, 4: 1.5, 5: 1.8, 6: 2.0, 7: 1.8, 9: 2.0, 17: 1.8, 23: 1.7, 28: 1.4}
#: templates that replace :data:`TEMPLATES` in stimuli a person looks at
#: (``synth_face(..., natural=True)``): the raised upper lid (AU5) lifts evenly along its
#: length, not to a peak over the pupil, and its margin more than its fold (the lid slides
#: up under the fold; the brow above stays); raised brows (AU1, AU2) take the skin below
#: them up less and less towards the lid margin. Soft row edges: a hard one through the
#: brow or the fold moves part of it and draws it twice. The chin raiser (AU17) pushes the
#: closed lips up together, the seam with them (lifting the lower lip alone squeezes it
#: against the seam, which waves)
LOOK: dict[int, list[Handle]] = {
    1: [Handle((0.17, -0.66), (0.0, -0.10), 0.14, (-9, -0.48), soft=(0.0, 0.08))],
    2: [Handle((0.60, -0.62), (0.0, -0.10), 0.17, (-9, -0.48), soft=(0.0, 0.08))],
    5: [Handle((0.35, -0.47), (0.0, -0.05), 0.17, (-0.62, -0.445), soft=(0.12, 0.0))],
    17: [Handle((0.0, 0.52), (0.0, -0.05), 0.18, (LIP_SPLIT, 9), 1),
         Handle((0.0, 0.25), (0.0, -0.022), 0.12)],
}
#: eye closure (43 eyes closed, 45 blink): the upper lid meets the lower lid at E
CLOSURE = (43, 45)
SUPPORTED = sorted([*TEMPLATES, *CLOSURE])

#: head-frame y of the eye line (outer eye corners) on the reference face; :data:`WRINKLES`
#: give y from it
EYE_Y = -0.445


@dataclass(frozen=True)
class Wrinkle:
    """An appearance change of one unit at E, on the subject's right (x < 0; mirrored for
    the left side, and drawn once for midline points ``x == 0`` of a ``mirror`` stroke).

    ``fold``: a dark line through ``points`` (x, y below the eye line), ``width`` wide, its
    upper edge lit; ``bulge``: a light ellipse centred on ``points[0]`` with radii
    ``points[1]``, shadowed below; ``dimple``: a dark ellipse likewise. ``depth``: the change
    of brightness at E (0.3 = 30 % darker)."""

    kind: str
    points: tuple[tuple[float, float], ...]
    depth: float
    width: float = 0.02


def _fold(*pts, depth=0.3, width=0.02):
    return Wrinkle("fold", tuple(pts), depth, width)


#: appearance templates at intensity E, by action unit (see :class:`Wrinkle`)
WRINKLES: dict[int, list[Wrinkle]] = {
    1: [_fold((-0.30, -0.37 - k), (-0.15, -0.40 - k), (0.0, -0.41 - k), depth=0.22, width=0.02)
        for k in (0.0, 0.07, 0.14)],                                       # forehead lines
    2: [_fold((-0.62, -0.34 - k), (-0.46, -0.39 - k), (-0.30, -0.40 - k), depth=0.2, width=0.02)
        for k in (0.0, 0.07, 0.14)],                                       # lateral lines
    4: [_fold((-0.075, -0.33), (-0.06, -0.22), (-0.045, -0.12), depth=0.4, width=0.025),
        _fold((-0.13, -0.30), (-0.10, -0.21), depth=0.25, width=0.02),   # glabella furrows
        Wrinkle("dimple", ((0.0, -0.19), (0.05, 0.08)), 0.12),             # skin bunching
        _fold((-0.07, -0.10), (0.0, -0.085), depth=0.15)],                 # root of the nose
    6: [_fold((-0.56, -0.035), (-0.67, -0.09), depth=0.32, width=0.016),   # crow's feet
        _fold((-0.57, 0.01), (-0.69, 0.02), depth=0.32, width=0.016),
        _fold((-0.56, 0.05), (-0.66, 0.115), depth=0.32, width=0.016),
        _fold((-0.28, 0.11), (-0.40, 0.14), (-0.52, 0.11), depth=0.22, width=0.022),
        Wrinkle("bulge", ((-0.42, 0.27), (0.14, 0.08)), 0.12)],            # cheek raised
    7: [_fold((-0.28, 0.065), (-0.37, 0.08), (-0.46, 0.065), depth=0.14, width=0.016)],
    9: [_fold((-0.03, -0.03), (-0.085, 0.0), depth=0.35, width=0.016),     # nose bridge
        _fold((-0.035, 0.03), (-0.10, 0.08), depth=0.38, width=0.016),
        _fold((-0.035, 0.09), (-0.12, 0.145), depth=0.35, width=0.016),
        _fold((-0.06, -0.065), (0.0, -0.055), depth=0.25, width=0.016),
        _fold((-0.24, 0.34), (-0.29, 0.43), (-0.33, 0.52), depth=0.25, width=0.025)],
    10: [_fold((-0.24, 0.34), (-0.30, 0.44), (-0.345, 0.56), depth=0.32, width=0.026)],
    12: [_fold((-0.25, 0.34), (-0.33, 0.46), (-0.40, 0.60), (-0.43, 0.73), depth=0.36,
               width=0.03),                                                 # nasolabial
         Wrinkle("bulge", ((-0.46, 0.42), (0.10, 0.10)), 0.1)],             # cheek bunched
    14: [Wrinkle("dimple", ((-0.39, 0.67), (0.03, 0.045)), 0.3),            # dimple
         _fold((-0.37, 0.60), (-0.38, 0.72), depth=0.2, width=0.02)],
    15: [_fold((-0.35, 0.71), (-0.37, 0.81), (-0.38, 0.91), depth=0.24, width=0.022)],
    17: [Wrinkle("bulge", ((0.0, 1.02), (0.17, 0.11)), 0.14),               # chin boss
         _fold((-0.15, 0.935), (-0.07, 0.905), (0.0, 0.90), depth=0.28, width=0.025)],
    20: [_fold((-0.42, 0.64), (-0.46, 0.71), depth=0.15, width=0.02)],
    23: [_fold((-0.30, 0.69), (-0.15, 0.695), (0.0, 0.69), depth=0.22, width=0.012)],
    24: [Wrinkle("bulge", ((0.0, 0.545), (0.12, 0.035)), 0.1),              # lips pushed
         Wrinkle("bulge", ((0.0, 0.86), (0.12, 0.035)), 0.1),
         _fold((-0.05, 0.52), (-0.05, 0.575), depth=0.14, width=0.012),
         _fold((-0.11, 0.525), (-0.115, 0.575), depth=0.14, width=0.012)],
}

#: :data:`WRINKLES` replaced in stimuli a person looks at (``natural``): softer, wider
#: furrows between the brows without the dark spot of bunched skin (on a smooth face the
#: sharp ones read as drawn on), and the nasolabial furrow (AU9, AU10, AU12) a soft shadow
#: that ends beside the lip corner, not a dark stroke running on below it
LOOK_WRINKLES: dict[int, list[Wrinkle]] = {
    4: [_fold((-0.075, -0.33), (-0.06, -0.22), (-0.045, -0.12), depth=0.26, width=0.035),
        _fold((-0.13, -0.30), (-0.10, -0.21), depth=0.15, width=0.03),
        WRINKLES[4][3]],
    9: [*WRINKLES[9][:4],
        _fold((-0.24, 0.34), (-0.29, 0.43), (-0.32, 0.50), depth=0.15, width=0.04)],
    10: [_fold((-0.24, 0.34), (-0.30, 0.44), (-0.34, 0.54), depth=0.2, width=0.045)],
    12: [_fold((-0.25, 0.34), (-0.33, 0.45), (-0.39, 0.56), (-0.41, 0.65), depth=0.2,
               width=0.045),
         WRINKLES[12][1]],
}


@lru_cache(maxsize=1)
def _inner_lines() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ref = reference_shape()
    up, lo = ref[UPPER_INNER], ref[LOWER_INNER]
    iu, il = np.argsort(up[:, 0]), np.argsort(lo[:, 0])
    return up[iu, 0], up[iu, 1], lo[il, 0], lo[il, 1]


def lip_side(x: np.ndarray, y: np.ndarray, side: int) -> np.ndarray:
    """Weight 0..1 of head-frame points (x, y) for a ``lip`` handle: 0 on and across the
    inner contour of the upper (``side`` −1) or lower (+1) lip, 1 from :data:`LIP_FADE` away
    on the lip's own side."""
    ux, uy, lx, ly = _inner_lines()
    if side < 0:
        return np.clip((np.interp(x, ux, uy) - y) / LIP_FADE, 0.0, 1.0)
    return np.clip((y - np.interp(x, lx, ly)) / LIP_FADE, 0.0, 1.0)


def parse_aus(aus: str | dict[str, float], default: float = 3.0) -> dict[str, float]:
    """Normalise an action-unit request to ``{"AU06": 3.0, "AU12R": 1.0, …}``.

    Parameters
    ----------
    aus : FACS text (``"6+12"``, ``"1+2+5B+26"``, ``"R12A+R14A"``) or a dict keyed like the
        per-frame table (``"AU06"``, ``"AU12L"``) with intensities 0..5.
    default : intensity of a code without a letter (C, marked).
    """
    out: dict[str, float] = {}
    items = aus.items() if isinstance(aus, dict) else [
        (p, None) for p in re.split(r"[+,\s]+", str(aus).strip()) if p]
    for code, value in items:
        m = _CODE.match(str(code).strip())
        if not m:
            raise InputError(f"cannot read action unit {code!r} (expected like 6, 5B, R12A, "
                             "AU12L)")
        side = (m.group(1) or m.group(3)).upper()
        num, letter = int(m.group(2)), m.group(4).upper()
        if num not in SUPPORTED:
            raise InputError(f"action unit {num} has no warp template (supported: "
                             f"{', '.join(map(str, SUPPORTED))})")
        v = float(value) if value is not None else LETTERS.get(letter, default)
        if not 0.0 <= v <= 5.0:
            raise InputError(f"intensity of {code} must be within 0..5, got {v}")
        out[f"AU{num:02d}{side}"] = v
    return out


@lru_cache(maxsize=256)
def _template(au: int, side: str, closed: bool = True, look: bool = False) -> np.ndarray:
    """(478, 2) head-frame displacement at intensity 5 for one action unit and side;
    ``closed``: the lips meet, so ``lip`` handles fade out at the inner lip line (on a parted
    mouth they move the whole lip); ``look``: with the :data:`LOOK` templates."""
    ref = reference_shape()
    d = np.zeros((len(ref), 2))
    if au in CLOSURE:
        for s in (0, 1):
            if side and (side == "R") != (s == 0):
                continue
            up, lo = ref[UPPER_LIDS[s], 1], ref[LOWER_LIDS[s], 1]
            d[UPPER_LIDS[s], 1] = (lo - up) * 0.9
            d[LOWER_LIDS[s], 1] = -(lo - up) * 0.1
        return d
    for h in (LOOK if look else {}).get(au, TEMPLATES[au]):
        for sgn in (-1.0, 1.0):  # -1: subject's right (x < 0)
            if side and (side == "R") != (sgn < 0):
                continue
            if h.centre[0] == 0.0 and sgn > 0 and not side:
                continue  # a midline handle once
            cx = sgn * h.centre[0]
            r2 = (ref[:, 0] - cx) ** 2 + (ref[:, 1] - h.centre[1]) ** 2
            w = np.exp(-r2 / (2 * h.sigma**2))
            w *= (ref[:, 1] >= h.rows[0]) & (ref[:, 1] <= h.rows[1])
            for edge, fade, sgn_y in ((h.rows[0], h.soft[0], 1.0), (h.rows[1], h.soft[1], -1.0)):
                if fade:
                    w *= np.clip(sgn_y * (ref[:, 1] - edge) / fade, 0.0, 1.0)
            if h.lip and closed:
                w *= lip_side(ref[:, 0], ref[:, 1], h.lip)
            if side:  # one side only, fading out across the midline
                w *= np.clip(0.5 + sgn * ref[:, 0] / 0.1, 0.0, 1.0)
            dx = h.move[0] * (sgn if h.centre[0] != 0.0 else np.sign(ref[:, 0]))
            d[:, 0] += w * dx
            d[:, 1] += w * h.move[1]
    return d * GAIN.get(au, 1.0)


def displacements(aus: str | dict[str, float], closed: float = 1.0,
                  look: bool = False) -> np.ndarray:
    """(478, 2) head-frame landmark displacement for an action-unit request; ``closed``
    (0..1): how far the lips meet (:func:`lips_closed`); ``look``: for a person to look at
    (:data:`LOOK`)."""
    total = np.zeros((len(reference_shape()), 2))
    for key, v in parse_aus(aus).items():
        side, au = key[-1] if key[-1] in "LR" else "", int(key[2:4])
        t = _template(au, side, True, look)
        if closed < 1.0:
            t = closed * t + (1.0 - closed) * _template(au, side, False, look)
        total += t * (v / 5.0)
    return total


#: smallest share of its neutral area a mesh triangle keeps under :func:`untangle`
MIN_AREA = 0.3


@lru_cache(maxsize=1)
def _triangles() -> tuple[np.ndarray, np.ndarray]:
    """Delaunay triangles of the reference face's skin (head frame, x-y; not the irises) and
    their signed areas, without those across the eye and mouth openings (lids close over the
    eyes and lips press together) and the slivers."""
    from scipy.spatial import Delaunay

    ref = reference_shape()[:468, :2]
    tri = Delaunay(ref).simplices
    area = _areas(ref, tri)
    keep = area > 1e-4
    for opening in (*EYES, INNER_LIPS):
        keep &= ~np.isin(tri, opening).all(axis=1)
    return tri[keep], area[keep]


def _areas(pts: np.ndarray, tri: np.ndarray) -> np.ndarray:
    a, b, c = pts[tri[:, 0]], pts[tri[:, 1]], pts[tri[:, 2]]
    return 0.5 * ((b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0]))


def untangle(d_head: np.ndarray, min_area: float = MIN_AREA, rounds: int = 40) -> np.ndarray:
    """Scale down a head-frame displacement where it would crush or fold the skin.

    Units that add up against each other (AU4 and AU9 lowering the brows while AU5 lifts the
    upper lids) can push one row of landmarks across another; the resampled photo then folds
    over itself (doubled brows, torn lids). Each round, the landmarks of every reference-mesh
    triangle that would keep less than ``min_area`` of its area (or turn over), and with a
    smooth falloff those around them, move 15 % less, so the brows stop just above the lids
    as skin does.
    """
    ref = reference_shape()[:468, :2]
    tri, area0 = _triangles()
    near = _near()
    scale = np.ones(len(d_head))
    for _ in range(rounds):
        bad = _areas(ref + d_head[:468] * scale[:468, None], tri) < min_area * area0
        if not bad.any():
            break
        scale *= 1.0 - 0.15 * near[:, np.unique(tri[bad])].max(axis=1)
    return d_head * scale[:, None]


@lru_cache(maxsize=1)
def _near() -> np.ndarray:
    """(478, 478) Gaussian closeness of reference landmarks (head frame, sigma 0.04)."""
    ref = reference_shape()[:, :2]
    r2 = ((ref[:, None] - ref[None]) ** 2).sum(-1)
    return np.exp(-r2 / (2 * 0.04**2))


#: share of its opening an eye keeps under lids that move towards each other (a squint:
#: AU6 and AU7 raise the lower lid by more than many eyes are open)
MIN_EYE_OPEN = 0.35


def _keep_eyes_open(lm: np.ndarray, d_head: np.ndarray) -> np.ndarray:
    """Stop the lower lids of head-frame displacement ``d_head`` where they would close the
    eyes of the face ``lm`` (its mesh in image pixels) to less than :data:`MIN_EYE_OPEN` of
    their opening; :func:`untangle` then keeps the rising cheek below from folding over
    them, so the eye narrows as in a squint."""
    s = head_pose(lm)[0]
    e = lm[263, :2] - lm[33, :2]
    down = np.array([-e[1], e[0]]) / max(float(np.linalg.norm(e)), 1e-6)
    out = d_head.copy()
    for up, lo in zip(UPPER_LIDS, LOWER_LIDS, strict=True):
        up, lo = list(up), list(lo)
        gap = np.maximum((lm[lo, :2] - lm[up, :2]) @ down / max(s, 1e-6), 0.0)
        now = gap + d_head[lo, 1] - d_head[up, 1]
        out[lo, 1] += np.maximum(MIN_EYE_OPEN * gap - now, 0.0)
    return out


def lips_closed(lm: np.ndarray) -> float:
    """1 when the lips meet, falling to 0 as they part by 0.03 → 0.08 eye-corner distances."""
    unit = float(np.linalg.norm(lm[263, :2] - lm[33, :2]))
    return float(np.clip((0.08 - _gap(lm[:, :2]) / max(unit, 1e-6)) / 0.05, 0.0, 1.0))


def _largest_face(image: np.ndarray) -> np.ndarray:
    from tells.face.still import find_faces

    faces = find_faces(image, max_faces=5)
    if not faces:
        raise InputError("no face found to warp")
    return max(faces, key=lambda f: np.ptp(f[0][:, 0]) * np.ptp(f[0][:, 1]))[0]


def synth_face(image_rgb: np.ndarray, aus: str | dict[str, float], *,
               landmarks: np.ndarray | None = None, appearance: bool = False,
               natural: bool = False) -> np.ndarray:
    """Deform a face photo to show action units.

    Parameters
    ----------
    image_rgb : (H, W, 3) uint8 RGB photo or video frame with a face (the largest is used).
    aus : ``"6+12"``, ``"1+2+5B+26"``, ``"R12A+R14A"`` (letters A..E = 1..5; none = C, 3) or
        ``{"AU06": 3.0, "AU12L": 1.0}`` (0..5).
    landmarks : the face's (478, 3) mesh in image pixels, if already known.
    appearance : add the folds and bulges of :data:`WRINKLES` and bared teeth, for stimuli a
        person looks at (the trainer). Off by default: as the AU oracle (``tells eval
        aus-oracle``, ``tells synth``) the warp is geometry only, which the AU reader was
        measured on (with the shading, single units at B and C read back less often).
    natural : also shape the movement as a person would look at it (the trainer): opposing
        units do not fold the skin over (:func:`untangle`), the eyeballs stay where they are
        while the lids move, raised upper lids lift evenly (:data:`LOOK`) and widened eyes
        show their white (:func:`_open_eyes`).

    Returns
    -------
    (H, W, 3) uint8 RGB image of the same size.
    """
    img = np.ascontiguousarray(image_rgb)
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise InputError(f"expected an RGB uint8 image, got {img.dtype} {img.shape}")
    request = parse_aus(aus)
    lm = _largest_face(img) if landmarks is None else np.asarray(landmarks, dtype=np.float64)
    d_head = displacements(request, lips_closed(lm), look=natural)
    if natural:
        d_head = untangle(_keep_eyes_open(lm, d_head))
        d_head[list(IRIS[0] + IRIS[1])] = 0.0  # the eyeballs stay; only the lids move
    if not np.any(d_head):
        return img.copy()
    s, rot, _t, _ = head_pose(lm)
    d3 = np.c_[d_head, np.zeros(len(d_head))]
    d_img = s * (d3 @ rot.T)[:, :2]
    ctrl = np.ones(len(lm), bool)
    if natural:
        for eye, iris in zip(EYES, IRIS, strict=True):
            # an eye narrowed by its lids (a squint) narrows over the eyeball: its iris,
            # partly under the lids, does not hold the skin still between them
            if _polygon_area(lm[eye, :2] + d_img[eye]) < _polygon_area(lm[eye, :2]):
                ctrl[list(iris)] = False
                d_img[list(iris)] = d_img[eye].mean(0)
    out = warp_points(img, lm[ctrl, :2], d_img[ctrl])
    new = lm[:, :2] + d_img
    if natural:
        out = _open_eyes(out, img, lm[:, :2], new)
    if appearance:
        out = _wrinkles(out, request, new, s, rot, LOOK_WRINKLES if natural else {})
    if any(k[2:4] in ("25", "26") for k in request) or _gap(new) > _gap(lm[:, :2]) + 1.0:
        # lips pulled back or up bare the teeth; a dropped jaw alone leaves them covered
        bared = sum(v for k, v in request.items() if k[2:4] in ("10", "12")) >= 2.0
        out = _shade_mouth(out, lm[:, :2], new, teeth=appearance and bared)
    closing = [k for k in request if k[2:4] in ("43", "45")]
    if closing:
        level = max(request[k] for k in closing) / 5.0
        out = _close_eyes(out, img, lm[:, :2], new, level, closing)
    return out


def wrinkle_level(v: float) -> float:
    """How much of a unit's E appearance shows at intensity ``v`` (0..5): none at a trace,
    rising to all of it at E."""
    return float(np.clip((v - 0.5) / 4.5, 0.0, 1.0))


def _wrinkles(out: np.ndarray, request: dict[str, float], new: np.ndarray, s: float,
              rot: np.ndarray, look: dict[int, list[Wrinkle]] | None = None) -> np.ndarray:
    """Shade the folds and bulges of :data:`WRINKLES` onto the warped face ``out``.

    A head-frame point is placed by its nearest reference landmark: that landmark's warped
    position plus the posed offset (so it follows the warp and the head's turn)."""
    ref = reference_shape()
    lin = s * rot[:2]  # head frame (3-D) → image offset
    unit = float(np.linalg.norm(new[263] - new[33]))
    strokes = []
    for key, v in request.items():
        side, au = key[-1] if key[-1] in "LR" else "", int(key[2:4])
        level = wrinkle_level(v)
        kinds = {**WRINKLES, **(look or {})}
        if au not in kinds or level <= 0:
            continue
        for wr in kinds[au]:
            for sgn in (-1.0, 1.0):  # -1: subject's right (x < 0)
                if side and (side == "R") != (sgn < 0):
                    continue
                pts = np.array([(sgn * x if wr.kind == "fold" or i == 0 else x, y + EYE_Y)
                                for i, (x, y) in enumerate(wr.points)])
                if sgn > 0 and not side and wr.kind != "fold" and wr.points[0][0] == 0.0:
                    continue  # a midline bulge once
                strokes.append((wr, pts, level))
    if not strokes:
        return out
    h, w = out.shape[:2]
    x0, y0 = np.floor(new.min(0) - 0.3 * unit).astype(int)
    x1, y1 = np.ceil(new.max(0) + 0.3 * unit).astype(int)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 8 or y1 - y0 < 8:
        return out
    ss = 4  # sub-pixel drawing (cv2 shifts)
    dark = np.zeros((y1 - y0, x1 - x0), np.float32)
    light = np.zeros_like(dark)
    up = -(lin @ np.array([0.0, 1.0, 0.0]))
    up /= max(float(np.linalg.norm(up)), 1e-6)

    def place(pts: np.ndarray) -> np.ndarray:
        j = np.argmin(((ref[None, :, :2] - pts[:, None]) ** 2).sum(-1), axis=1)
        p3 = np.c_[pts, ref[j, 2]] - ref[j]
        return new[j] + p3 @ lin.T - (x0, y0)

    def ipt(p):
        return np.round(np.asarray(p) * (1 << ss)).astype(np.int32)

    for wr, pts, level in strokes:
        amp = wr.depth * level
        if wr.kind == "fold":
            line = place(pts)
            thick = max(1, int(round(wr.width * unit)))
            cv2.polylines(dark, [ipt(line)], False, amp, thick, cv2.LINE_AA, ss)
            cv2.polylines(light, [ipt(line + up * 0.8 * thick)], False, 0.35 * amp, thick,
                          cv2.LINE_AA, ss)
        else:
            c = place(pts[:1])[0]
            rx, ry = (max(1, int(round(r * unit))) for r in wr.points[1])
            angle = float(np.degrees(np.arctan2(-up[0], up[1])))
            if wr.kind == "bulge":
                cv2.ellipse(light, ipt(c), (rx << ss, ry << ss), angle, 0, 360, amp, -1,
                            cv2.LINE_AA, ss)
                cv2.ellipse(dark, ipt(c - up * ry * 0.9), (rx << ss, max(1, ry // 2) << ss),
                            angle, 0, 180, 0.6 * amp, -1, cv2.LINE_AA, ss)
            else:
                cv2.ellipse(dark, ipt(c), (rx << ss, ry << ss), angle, 0, 360, amp, -1,
                            cv2.LINE_AA, ss)
    k = max(3, int(0.03 * unit) * 2 + 1)
    dark = cv2.GaussianBlur(dark, (k, k), 0.012 * unit + 0.5)
    light = cv2.GaussianBlur(light, (k * 3 | 1, k * 3 | 1), 0.03 * unit + 0.5)
    # a shadow on skin is darker and a little warmer, not gray
    gain = np.clip(1.0 - dark[..., None] * np.array([0.8, 1.0, 1.1], np.float32)
                   + light[..., None], 0.4, 1.4)
    res = out.copy()
    res[y0:y1, x0:x1] = np.clip(out[y0:y1, x0:x1] * gain, 0, 255).astype(np.uint8)
    return res


def _gap(pts: np.ndarray) -> float:
    return float(pts[14, 1] - pts[13, 1])


def warp_points(img: np.ndarray, src: np.ndarray, disp: np.ndarray) -> np.ndarray:
    """Resample ``img`` so that points ``src`` move by ``disp`` (thin-plate spline field)."""
    from scipy.interpolate import RBFInterpolator

    h, w = img.shape[:2]
    x0, y0 = src.min(0)
    x1, y1 = src.max(0)
    cx, cy, side = (x0 + x1) / 2, (y0 + y1) / 2, max(x1 - x0, y1 - y0)
    ang = np.linspace(0, 2 * np.pi, 24, endpoint=False)
    ring = np.c_[cx + 0.85 * side * np.cos(ang), cy + 0.85 * side * np.sin(ang)]
    ctrl_dst = np.vstack([src + disp, ring])
    # backward map: for each output point, where it comes from
    back = np.vstack([-disp, np.zeros_like(ring)])
    rbf = RBFInterpolator(ctrl_dst, back, kernel="thin_plate_spline", smoothing=1e-3,
                          degree=1)
    bx0, by0 = int(max(0, cx - 0.9 * side)), int(max(0, cy - 0.9 * side))
    bx1, by1 = int(min(w, cx + 0.9 * side)), int(min(h, cy + 0.9 * side))
    if bx1 - bx0 < 4 or by1 - by0 < 4:
        return img.copy()
    step = max(1, int(side / 96))
    gx = np.arange(bx0, bx1, step, dtype=np.float64)
    gy = np.arange(by0, by1, step, dtype=np.float64)
    grid = np.stack(np.meshgrid(gx, gy), axis=-1).reshape(-1, 2)
    field = rbf(grid).reshape(len(gy), len(gx), 2).astype(np.float32)
    # fade to zero at the window's edge (the anchor ring already holds it near zero)
    field = cv2.resize(field, (bx1 - bx0, by1 - by0), interpolation=cv2.INTER_LINEAR)
    yy, xx = np.mgrid[by0:by1, bx0:bx1].astype(np.float32)
    rr = np.hypot((xx - cx) / (0.9 * side), (yy - cy) / (0.9 * side))
    fade = np.clip((1.0 - rr) / 0.15, 0.0, 1.0)[..., None]
    field *= fade
    out = img.copy()
    out[by0:by1, bx0:bx1] = cv2.remap(img, xx + field[..., 0], yy + field[..., 1],
                                      cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return out


def _feathered_mask(shape: tuple[int, int], poly: np.ndarray, blur: float) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    cv2.fillPoly(mask, [np.round(poly).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
    k = max(3, int(blur) * 2 + 1)
    return cv2.GaussianBlur(mask, (k, k), 0)


#: tooth height (head-frame units) of the upper and lower front teeth seen between parted lips
TEETH = (0.085, 0.05)


def _shade_mouth(out: np.ndarray, old: np.ndarray, new: np.ndarray,
                 teeth: bool = True) -> np.ndarray:
    """Dark mouth interior inside the new inner-lip contour, where the lips were closed; with
    ``teeth``, the upper front teeth (and the lower ones in a wide opening) show in it, lit
    like the face and darker towards the mouth corners."""
    h, w = out.shape[:2]
    unit = float(np.linalg.norm(old[263] - old[33]))
    mask = _feathered_mask((h, w), new[INNER_LIPS], 0.02 * unit)
    before = _feathered_mask((h, w), old[INNER_LIPS], 0.02 * unit)
    m = np.clip(mask - 0.7 * before, 0.0, 1.0)[..., None]
    dark = np.array([48, 22, 24], np.float32)
    res = out * (1 - 0.85 * m) + dark * 0.85 * m
    if teeth:
        e = new[263] - new[33]
        down = np.array([-e[1], e[0]]) / max(float(np.linalg.norm(e)), 1e-6)
        up_line, lo_line = new[UPPER_INNER], new[LOWER_INNER]
        opening = float(np.dot(new[14] - new[13], down)) / unit
        # the skin's brightness sets the teeth's (a dim photo has dim teeth)
        cheek = old[[50, 280]].mean(0).astype(int)
        y, x = np.clip(cheek[1], 0, h - 1), np.clip(cheek[0], 0, w - 1)
        skin = float(out[max(0, y - 3):y + 4, max(0, x - 3):x + 4].mean())
        tooth = np.array([228, 222, 210], np.float32) * np.clip(skin / 160.0, 0.5, 1.1)
        bands = [(up_line, TEETH[0])]
        if opening > 0.22:
            bands.append((lo_line, -TEETH[1]))
        for line, height in bands:
            band = np.vstack([line, (line + down * height * unit * min(1.0, opening / 0.2))[::-1]])
            t = _feathered_mask((h, w), band, 0.01 * unit) * mask * (1 - 0.7 * before)
            # darker towards the corners (the side teeth recede into the mouth)
            mid = 0.5 * (new[61] + new[291])
            half = max(float(np.linalg.norm(new[291] - new[61])) / 2, 1.0)
            yy, xx = np.mgrid[0:h, 0:w]
            r = np.abs((xx - mid[0]) * e[0] + (yy - mid[1]) * e[1]) / np.linalg.norm(e) / half
            shade = np.clip(1.15 - 0.75 * r**2, 0.3, 1.0).astype(np.float32)
            # the gaps between the front teeth
            along = ((xx - mid[0]) * e[0] + (yy - mid[1]) * e[1]) / np.linalg.norm(e) / unit
            shade *= (1.0 - 0.25 * np.exp(-((np.abs(along) % 0.075) - 0.0375) ** 2 /
                                          (2 * 0.006**2))).astype(np.float32)
            # the front teeth span the middle of the opening, not the corners
            t = (t * 0.9 * np.clip((0.62 - r) / 0.15, 0.0, 1.0))[..., None]
            res = res * (1 - t) + (tooth * shade[..., None]) * t
    return np.clip(res, 0, 255).astype(np.uint8)


def _polygon_area(pts: np.ndarray) -> float:
    x, y = pts[:, 0], pts[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1))))


def _open_eyes(out: np.ndarray, orig: np.ndarray, old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Eyes opened wider than in the photo (AU5) show more white, not a stretched iris.

    The warp stretches what lay between the lids, so a raised upper lid would drag the iris
    and the lashes into a dark hole. Inside the new opening this paints the white of the eye
    (the photo's own, from the brightest part of the eye outside the iris), the iris as a disc
    where the photo had it, the photo's eye itself where it was, and the lash line along the
    raised lid."""
    h, w = out.shape[:2]
    unit = float(np.linalg.norm(old[263] - old[33]))
    res = out.astype(np.float32)
    for s, eye in enumerate(EYES):
        # the upper lid's skin, stretched by raised brows or lids, is smooth skin: the lash
        # line and the lid's shadow do not stretch with it
        band_old = np.vstack([old[UPPER_LIDS[s]], old[LID_FOLDS[s]][::-1]])
        band_new = np.vstack([new[UPPER_LIDS[s]], new[LID_FOLDS[s]][::-1]])
        grow = _polygon_area(band_new) / max(_polygon_area(band_old), 1e-6)
        if grow > 1.15:
            # the lid's own skin in the photo, without the lashes, the crease and brow hairs
            # (darker) or highlights (the skin just above the fold is the brow on many faces)
            band = _feathered_mask((h, w), band_old, 0.0) > 0.5
            px = orig[band].astype(np.float32)
            if len(px) >= 8:
                luma = px @ np.array([0.299, 0.587, 0.114], np.float32)
                lo, hi = np.percentile(luma, [50, 90])
                skin = px[(luma >= lo) & (luma <= hi)].mean(0)
            else:
                skin = _lid_skin(orig, old[UPPER_LIDS[s]].mean(0), unit)
            m = _feathered_mask((h, w), band_new, 0.03 * unit)[..., None]
            a = min(0.85, 2.0 * (grow - 1.15))
            res = res * (1 - m * a) + skin * m * a
        po, pn = old[eye], new[eye]
        if _polygon_area(pn) < 1.1 * _polygon_area(po):
            continue
        x0, y0 = np.floor(np.minimum(po.min(0), pn.min(0)) - 0.1 * unit).astype(int)
        x1, y1 = np.ceil(np.maximum(po.max(0), pn.max(0)) + 0.1 * unit).astype(int)
        x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        off = np.array([x0, y0], float)
        shape = (y1 - y0, x1 - x0)
        inside = np.zeros(shape, np.uint8)
        cv2.fillPoly(inside, [np.round(po - off).astype(np.int32)], 1)
        patch = orig[y0:y1, x0:x1].astype(np.float32)
        c = old[IRIS[s][0]] - off
        r = float(np.mean(np.linalg.norm(old[list(IRIS[s][1:])] - old[IRIS[s][0]], axis=1)))
        yy, xx = np.mgrid[0:shape[0], 0:shape[1]]
        dist = np.hypot(xx - c[0], yy - c[1])
        luma = patch @ np.array([0.299, 0.587, 0.114], np.float32)
        white = (inside > 0) & (dist > 1.15 * r)
        iris = (inside > 0) & (dist < 0.9 * r)
        if white.sum() >= 6:
            lv = luma[white]
            white_rgb = patch[white][lv >= np.percentile(lv, 70)].mean(0)
        else:
            white_rgb = np.array([215, 210, 205], np.float32)
        # a narrow eye shows little white, in the lids' shadow; opened wide, the white is
        # lit like the face (and brighter than its skin)
        lit = SCLERA * np.clip(_skin_luma(orig, old) / 150.0, 0.55, 1.05)
        if white_rgb.mean() < 0.9 * lit.mean():
            white_rgb = 0.45 * white_rgb + 0.55 * lit
        iris_rgb = np.median(patch[iris], axis=0) if iris.sum() >= 3 else white_rgb * 0.35
        # the white: a little darker towards the corners and in the lid's shadow
        ex = np.clip(np.abs(xx - c[0]) / max(0.5 * float(np.ptp(pn[:, 0])), 1.0), 0, 1)
        top = np.interp(xx + off[0], *_by_x(new[UPPER_LIDS[s]])) - off[1]
        ey = np.clip((yy - top) / max(0.35 * float(np.ptp(pn[:, 1])), 1.0), 0, 1)
        canvas = np.broadcast_to(white_rgb, (*shape, 3)) * (
            (1.0 - 0.22 * ex**2) * (0.78 + 0.22 * ey))[..., None]
        disc = np.clip((r - dist) / 1.0 + 0.5, 0.0, 1.0)[..., None]
        rim = np.clip(dist / max(r, 1.0), 0.0, 1.0)[..., None] ** 4  # darker limbal ring
        canvas = canvas * (1 - disc) + iris_rgb * (1.0 - 0.35 * rim) * disc
        # the photo's own eye where it was, shrunk off its lash line
        k = max(1, int(round(0.02 * unit)))
        own = cv2.erode(inside, np.ones((2 * k + 1, 2 * k + 1), np.uint8)).astype(np.float32)
        own = cv2.GaussianBlur(own, (2 * k + 1, 2 * k + 1), 0)[..., None]
        canvas = canvas * (1 - own) + patch * own
        # the raised lid's lashes and the shadow just under them
        upper = np.round(new[UPPER_LIDS[s]] - off).astype(np.int32)
        skin = _lid_skin(orig, old[UPPER_LIDS[s]].mean(0), unit)
        shade = canvas.copy()
        cv2.polylines(shade, [upper + np.array([0, max(1, k)])], False,
                      (white_rgb * 0.75).tolist(), max(1, 2 * k), cv2.LINE_AA)
        cv2.polylines(shade, [upper], False, (skin * 0.4).tolist(), max(1, k), cv2.LINE_AA)
        canvas = cv2.GaussianBlur(shade, (3, 3), 0)
        m = np.zeros(shape, np.float32)
        cv2.fillPoly(m, [np.round(pn - off).astype(np.int32)], 1.0, lineType=cv2.LINE_AA)
        m = cv2.GaussianBlur(m, (3, 3), 0)[..., None]
        res[y0:y1, x0:x1] = res[y0:y1, x0:x1] * (1 - m) + canvas * m
    return np.clip(res, 0, 255).astype(np.uint8)


#: RGB of a lit eye white on a face whose cheek skin has luma 150
SCLERA = np.array([222, 214, 205], np.float32)


def _by_x(pts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A polyline's x and y sorted by x, for :func:`numpy.interp`."""
    o = np.argsort(pts[:, 0])
    return pts[o, 0], pts[o, 1]


def _skin_luma(img: np.ndarray, lm: np.ndarray) -> float:
    """Mean luma of the cheeks (a 7-pixel square at each of mesh points 50 and 280)."""
    h, w = img.shape[:2]
    vals = []
    for i in (50, 280):
        x, y = (int(np.clip(v, 0, n - 1)) for v, n in zip(lm[i], (w, h), strict=True))
        vals.append(img[max(0, y - 3):y + 4, max(0, x - 3):x + 4].reshape(-1, 3).mean(0))
    return float(np.mean(vals, axis=0) @ np.array([0.299, 0.587, 0.114]))


def _lid_skin(orig: np.ndarray, lid: np.ndarray, unit: float) -> np.ndarray:
    """RGB of the upper lid's skin: the band between the lid and the brow, without its darkest
    40 % (lashes, the lid crease, eye make-up and brow hairs are darker than lid skin) and its
    brightest 20 % (highlights)."""
    h, w = orig.shape[:2]
    x0, x1 = int(lid[0] - 0.08 * unit), int(lid[0] + 0.08 * unit) + 1
    y0, y1 = int(lid[1] - 0.13 * unit), int(lid[1] - 0.04 * unit) + 1
    patch = orig[max(0, y0):min(h, y1), max(0, x0):min(w, x1)].reshape(-1, 3).astype(np.float32)
    if len(patch) < 4:
        x, y = int(np.clip(lid[0], 0, w - 1)), int(np.clip(lid[1] - 0.06 * unit, 0, h - 1))
        return orig[y, x].astype(np.float32)
    luma = patch @ np.array([0.299, 0.587, 0.114], np.float32)
    lo, hi = np.percentile(luma, [40, 80])
    keep = (luma >= lo) & (luma <= hi)
    return patch[keep].mean(0) if keep.any() else patch.mean(0)


def _close_eyes(out: np.ndarray, orig: np.ndarray, old: np.ndarray, new: np.ndarray,
                level: float, keys: list[str]) -> np.ndarray:
    """Cover the eye opening with skin from just above the upper lid, blended by ``level``."""
    h, w = out.shape[:2]
    unit = float(np.linalg.norm(old[263] - old[33]))
    res = out.astype(np.float32)
    sides = {k[-1] for k in keys if k[-1] in "LR"} or {"R", "L"}
    for s, eye in enumerate(EYES):
        if ("R" if s == 0 else "L") not in sides and len(sides) < 2:
            continue
        skin = _lid_skin(orig, old[UPPER_LIDS[s]].mean(0), unit)
        m = _feathered_mask((h, w), old[eye], 0.02 * unit)[..., None] * min(1.0, level * 1.2)
        res = res * (1 - m) + skin * m
        lash = np.round(new[LOWER_LIDS[s]]).astype(np.int32)
        line = res.copy()
        cv2.polylines(line, [lash], False, (skin * 0.45).tolist(), max(1, int(0.012 * unit)),
                      cv2.LINE_AA)
        res = res * (1 - level) + line * level
    return np.clip(res, 0, 255).astype(np.uint8)
