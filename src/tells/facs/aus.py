"""Action-unit intensities (0..5) and presence from a face's measurements and its neutral.

Every action unit is a weighted sum of measurement changes from the person's neutral face
(:mod:`tells.facs.features`, eye-corner-distance units), minus a dead zone, scaled so that
``full`` reads 5 (E, maximum); presence (``AUxx_c``) is intensity ≥ 1 (A, trace).
The one-line measurement of each action unit is in :data:`AU_TABLE`.

When the person's neutral *image* is known (video, the warp oracle), skin motion from it
(:mod:`tells.facs.motion`: DIS flow fitted by the per-unit displacement templates, and eye
darkness for closure) is merged in by :func:`combine`: every unit of :data:`MOTION_DEAD`
also reads the flow coefficient of its own template (AU01–AU26 as listed there, one-sided
14; AU23 also the tightening the fit split into 14 + 24, :data:`SPLIT_14`), 43/45 also
read the fall of eye darkness; AU12 and AU28 stay geometric.

May import ``tells.face``; nothing from later layers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tells.facs.features import INDEX, NAMES


@dataclass(frozen=True)
class AUSpec:
    """How one action unit is read: ``weights`` over measurement changes, ``dead`` zone and
    ``full`` (change that reads 5), and its FACS name with the one-line measurement."""

    name: str
    weights: dict[str, float]
    dead: float
    full: float
    how: str


def _both(prefix: str, w: float) -> dict[str, float]:
    return {f"{prefix}_R": w / 2, f"{prefix}_L": w / 2}


#: linear action units (unilateral 12/14 per side; 20, 24, 28, 43, 45 get a non-linear step)
AU_TABLE: dict[str, AUSpec] = {s.name: s for s in [
    AUSpec("AU01", {**_both("brow_in_raise", 1.0), "tex_forehead": 1.0}, 0.012, 0.09,
           "inner brow raiser: inner brow ends rise, lines across the middle of the forehead"),
    AUSpec("AU02", _both("brow_out_raise", 1.0), 0.012, 0.09,
           "outer brow raiser: outer brow ends rise"),
    AUSpec("AU04", {**_both("brow_in_raise", -0.5), **_both("brow_out_raise", -0.3),
                    "brow_squeeze": 1.0, "tex_glabella": 0.6}, 0.01, 0.07,
           "brow lowerer: brows lower and draw together, furrows between them"),
    AUSpec("AU05", _both("lid_up", 1.0), 0.008, 0.05,
           "upper lid raiser: upper lid rises above the iris centre (gaze-independent)"),
    AUSpec("AU06", {**_both("cheek_raise", 1.0), **_both("lid_lo_raise", 0.5),
                    **_both("tex_crow", 0.25)}, 0.01, 0.06,
           "cheek raiser: cheeks and lower lids rise, crow's feet appear"),
    AUSpec("AU07", {**_both("lid_lo_raise", 1.0), **_both("cheek_raise", -0.3)}, 0.005, 0.035,
           "lid tightener: lower lid rises towards the eye-corner line without the cheek"),
    AUSpec("AU09", {"nose_wing_raise": 1.0, "tex_nose": 0.8}, 0.008, 0.05,
           "nose wrinkler: nose wings rise, wrinkles across the nose bridge"),
    AUSpec("AU10", {"upper_lip_raise": 1.0, "nose_wing_raise": -0.5}, 0.01, 0.06,
           "upper lip raiser: upper lip rises towards the nose more than the nose wings do"),
    AUSpec("AU12R", {"corner_raise_R": 1.0, "corner_out_R": 0.4}, 0.01, 0.09,
           "lip corner puller (right): corner moves up and out from the lip midline"),
    AUSpec("AU12L", {"corner_raise_L": 1.0, "corner_out_L": 0.4}, 0.01, 0.09,
           "lip corner puller (left): corner moves up and out from the lip midline"),
    AUSpec("AU14R", {"corner_out_R": -1.0, "corner_raise_R": 0.5}, 0.008, 0.05,
           "dimpler (right): corner tightened in towards the midline, not lowered"),
    AUSpec("AU14L", {"corner_out_L": -1.0, "corner_raise_L": 0.5}, 0.008, 0.05,
           "dimpler (left): corner tightened in towards the midline, not lowered"),
    AUSpec("AU15", _both("corner_raise", -1.0), 0.008, 0.05,
           "lip corner depressor: corners move down from the lip midline"),
    AUSpec("AU17", {"chin_raise": 1.0}, 0.01, 0.06,
           "chin raiser: chin boss and chin push up towards the closed lower lip"),
    AUSpec("AU20", _both("corner_out", 1.0), 0.012, 0.07,
           "lip stretcher: corners pulled sideways without rising"),
    AUSpec("AU23", {"lip_thick": -0.6, **_both("corner_out", -0.5)}, 0.01, 0.06,
           "lip tightener: red lips narrow and the mouth narrows"),
    AUSpec("AU24", {"lip_thick": -1.0}, 0.012, 0.07,
           "lip pressor: red lips thin while pressed together (mouth closed)"),
    AUSpec("AU25", {"lip_gap": 1.0}, 0.015, 0.25, "lips part: gap between the inner lips"),
    AUSpec("AU26", {"jaw_drop": 1.0}, 0.02, 0.18, "jaw drop: chin moves down from the eye line"),
]}
#: non-linear ones: AU28 lip suck (red lips vanish: thickness ratio to neutral), AU45 blink
#: (eye aperture ratio to neutral), AU43 eyes closed (blink-level closure held over 0.5 s)
RATIO_AUS = {
    "AU28": ("lip_thick", 0.45, 0.9, "lip suck: red lips roll in until they almost vanish"),
    "AU45": ("eye_open", 0.35, 0.9, "blink: upper and lower lids meet"),
    "AU43": ("eye_open", 0.35, 0.9, "eyes closed: the blink-level closure held over 0.5 s"),
}
#: closure held this long (s) is AU43 eyes closed rather than a blink
CLOSED_HOLD_S = 0.5

#: the flow's reading of a skin movement relative to the movement (DIS at the crop's full
#: resolution recovers about 0.7 of a B-to-C movement; with the dead zones below, 0.6 reads the
#: oracle's B and C warps at about 2 and 3 on average: `tells eval aus-oracle`)
FLOW_GAIN = 0.6
#: per unit read from motion: (dead zone in intensity units, agreement scale): motion counts
#: fully once the mesh moves the same way by ``agreement`` × the unit's geometric dead zone,
#: half when the mesh does not move, not at all when it moves the opposite way (0: no check)
MOTION_DEAD: dict[str, tuple[float, float]] = {
    "AU01": (1.0, 1.0), "AU02": (1.0, 1.0), "AU04": (0.5, 1.0), "AU05": (1.0, 1.0),
    "AU06": (1.0, 0.0), "AU07": (0.5, 1.0), "AU09": (1.0, 1.0), "AU10": (1.0, 1.0),
    "AU15": (1.0, 1.0), "AU17": (1.5, 0.0), "AU20": (1.0, 1.0), "AU23": (0.5, 1.0),
    "AU24": (0.5, 1.0), "AU25": (1.0, 1.0), "AU26": (1.0, 1.0),
    "AU14R": (1.0, 1.0), "AU14L": (1.0, 1.0),
}
#: units whose motion counts only as far as the mesh moves the same way (not half when it
#: does not move): a broad smile's cheeks, rising round the nose, fit the nose wrinkler's
#: flow template (single_face.mp4's smile read AU09 at 1-2 from motion alone, OpenFace 0); and
#: the jaw drop, whose template a lower lip drawn down over closed teeth fits (below)
NEEDS_MESH = ("AU09", "AU26")
#: chin drop (eye-corner-distance units) per unit of lips parting beyond the neutral's that a
#: jaw drop's skin motion must come with: lips drawn apart over closed teeth (a broad smile
#: showing its teeth) move the lower lip down through the jaw drop's flow template, while the
#: chin stays (single_face.mp4's smile: gap +0.15 with the chin +0.035, flow read AU26 at
#: 1.5-2.1, OpenFace 0.2; WolfgangLanger_Pexels.mp4's dropped jaw: chin 0.4-1.7 times the gap)
JAW_PER_GAP = 0.25
# AU12 stays geometric: the mesh follows the lip corner puller well, while the flow reads a
# crying mouth stretched wide (20 + 15) as a strong 12; its template stays in the flow fit so
# that a smile's motion is not given to other units
#: the lip tightener's flow template is nearly the pressor's plus both dimplers' (lips pushed
#: together, corners drawn in), so the non-negative fit usually gives a tightening to those
#: three: per unit of AU23, the fit of its template without it reads this much AU14 on each
#: side and this much AU24 (``tests/test_facs_motion.py`` checks them against the templates)
SPLIT_14, SPLIT_24 = 0.83, 0.99
#: units whose geometric reading the mesh's jitter lights up on a still face (brow lowerer,
#: upper lip raiser, chin raiser): with a neutral image, they count only this fraction without
#: skin motion (rising to all of it as the motion reaches the unit's dead zone)
CONFIRM = ("AU04", "AU10", "AU17")
CONFIRM_ALONE = 0.35
#: eye closure from eye darkness (fall from the neutral's): dead zone and full closure
CLOSURE_DEAD, CLOSURE_FULL = 0.1, 0.5

#: lip-corner pull sideways per unit of their rise that a smile brings without any lip
#: stretcher (a broad smile pulls the corners out more than up: single_face.mp4 +0.14 out
#: with +0.095 up, which read AU20 at 3-4)
SMILE_OUT_20 = 1.5
#: nose-wing rise per unit of lip-corner rise that a smile brings without any nose wrinkler
#: (single_face.mp4's broad smile: wings +0.035 with corners +0.10)
SMILE_LIFT_09 = 0.4
#: the nose-bridge lines count for the nose wrinkler up to this many times the nose wings'
#: rise: AU9 always lifts the wings (the warp oracle's faces: lines 1-1.9 times the rise), and
#: lines across the nose bridge without that are fingers, glasses or shadow
#: (WolfgangLanger_Pexels.mp4: fingers across her nose read AU09 3.6-5 with the wings not
#: rising, OpenFace 0)
LINES_PER_WING = 2.0
#: brow lowering (AU04's geometric evidence) per unit of lip-corner rise that a broad smile
#: brings without any brow lowerer: the cheek raiser's pull on the skin round the eyes draws
#: the brows down a little (single_face.mp4's smile read AU04 at 1-1.4, OpenFace 0; kept
#: small, so that a frown leaking through a smile still reads)
SMILE_LOWER_04 = 0.2
#: and at most this many times the lowering of the inner brow ends
SMILE_LOWER_CAP = 1.5
#: the crow's-feet texture by an eye opened this much wider than at rest (eye-corner-distance
#: units) or more does not count for the cheek raiser: the cheek raiser narrows the eye, while
#: an eye opened wide brings its outer corner and lashes into the patch
#: (WolfgangLanger_Pexels.mp4 looking up with wide eyes read AU06 at 3-3.6, OpenFace 0-0.7)
CROW_WIDE = 0.02

LINEAR = list(AU_TABLE)
_W = np.zeros((len(LINEAR), len(NAMES)))
for _i, _n in enumerate(LINEAR):
    for _f, _w in AU_TABLE[_n].weights.items():
        _W[_i, INDEX[_f]] = _w
_DEAD = np.array([AU_TABLE[n].dead for n in LINEAR])
_SPAN = np.array([AU_TABLE[n].full - AU_TABLE[n].dead for n in LINEAR])
_ROW = {n: i for i, n in enumerate(LINEAR)}
_EYE = [INDEX["eye_open_R"], INDEX["eye_open_L"]]
_CORNER_RAISE = [INDEX["corner_raise_R"], INDEX["corner_raise_L"]]
_THICK, _GAP = INDEX["lip_thick"], INDEX["lip_gap"]
_TEX_NOSE, _WING = INDEX["tex_nose"], INDEX["nose_wing_raise"]
_NOSE_LINES = AU_TABLE["AU09"].weights["tex_nose"]
_BROW_IN = [INDEX["brow_in_raise_R"], INDEX["brow_in_raise_L"]]
_CROW = [(INDEX["tex_crow_R"], INDEX["eye_open_R"], AU_TABLE["AU06"].weights["tex_crow_R"]),
         (INDEX["tex_crow_L"], INDEX["eye_open_L"], AU_TABLE["AU06"].weights["tex_crow_L"])]


def linear_evidence(x: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """Raw geometric evidence of the :data:`LINEAR` units (weighted measurement changes, signed,
    before the dead zone; 0 at rest)."""
    d = x - neutral
    v = _W @ d
    # lip stretcher is sideways pull: corners pulled out as they rise are the smile, not AU20
    smile = max(0.0, _mean2(d, _CORNER_RAISE))
    v[_ROW["AU20"]] -= SMILE_OUT_20 * smile
    # a smile lifts the whole mid-face, nose wings with the cheeks: not the nose wrinkler
    v[_ROW["AU09"]] -= SMILE_LIFT_09 * smile
    lines = float(d[_TEX_NOSE])
    if lines > 0.0:
        v[_ROW["AU09"]] -= _NOSE_LINES * max(0.0, lines - LINES_PER_WING * max(
            0.0, float(d[_WING])))
    # a smile lowers the brows, it does not raise their inner ends: with those raised (the
    # sad brow, 1 + 4, over a mouth stretched wide) there is nothing to take back
    lowered = -_mean2(d, _BROW_IN)
    if lowered > 0.0:
        v[_ROW["AU04"]] -= min(SMILE_LOWER_04 * smile, SMILE_LOWER_CAP * lowered)
    # crow's feet beside an eye opened wider than at rest are its corner and lashes
    for crow, eye, w in _CROW:
        wide = float(d[eye])
        if wide > 0.0:
            v[_ROW["AU06"]] -= (1.0 if wide >= CROW_WIDE else wide / CROW_WIDE) * w * float(d[crow])
    # lip pressor and chin raiser push the lips together; with the mouth open the same
    # measurements are the jaw and the lower lip stretching
    if x[_GAP] > 0.03:
        v[_ROW["AU24"]] = 0.0
        v[_ROW["AU17"]] = 0.0
    # an open mouth rounds the lips and draws the corners in: not the dimpler
    if x[_GAP] > 0.05:
        v[_ROW["AU14L"]] -= 0.5 * (x[_GAP] - 0.05)
        v[_ROW["AU14R"]] -= 0.5 * (x[_GAP] - 0.05)
    return v


def _direction(v: np.ndarray, x: np.ndarray, neutral: np.ndarray) -> np.ndarray:
    """The geometric evidence ``v`` as the direction the mesh moved, for the motion agreement
    of :func:`combine`: for the dimpler only the opening beyond the neutral's draws the
    corners in (an open neutral's corners are drawn in already), so an open mouth alone does
    not count as the mesh moving against it (the geometric reading itself stays suppressed,
    the mesh's lip corners being unreliable on an open mouth). For the lip pressor on parted
    lips (its geometric reading suppressed) the direction is the lips moving towards each
    other: the fall of the inner lip gap from the neutral's (parted lips do not thin
    measurably in the mesh, they close), negative as they part further. For the jaw drop it is
    the chin's drop beyond :data:`JAW_PER_GAP` times the lips' parting from the neutral's."""
    was = max(0.0, float(x[_GAP]) - 0.05)
    now = max(0.0, float(x[_GAP]) - max(0.05, float(neutral[_GAP])))
    d = v.copy()
    d[_ROW["AU26"]] -= JAW_PER_GAP * max(0.0, float(x[_GAP]) - float(neutral[_GAP]))
    d[_ROW["AU14L"]] += 0.5 * (was - now)
    d[_ROW["AU14R"]] += 0.5 * (was - now)
    if x[_GAP] > 0.03:
        d[_ROW["AU24"]] = float(neutral[_GAP]) - float(x[_GAP])
        d[_ROW["AU17"]] = d[_ROW["AU24"]]
    return d


def intensities(x: np.ndarray, neutral: np.ndarray,
                motion: dict[str, float] | None = None,
                offset: np.ndarray | None = None) -> dict[str, float]:
    """Action-unit intensities 0..5 of one face.

    Parameters
    ----------
    x : measurements of the face (:func:`tells.facs.features.measure`).
    neutral : the same measurements of this person's neutral face
        (:class:`tells.facs.baseline.NeutralBaseline` or the population neutral).
    motion : skin-motion evidence from this person's neutral crop to the current crop
        (:func:`tells.facs.motion.motion_evidence`), if a neutral crop is known; it is
        combined with the geometry (:func:`combine`).
    offset : subtracted from the geometric evidence of the :data:`LINEAR` units
        (:func:`linear_evidence`; a correction of the neutral found over a whole recording,
        :mod:`tells.facs.calibration`).

    Returns
    -------
    dict with ``AU01`` … ``AU45`` (bilateral) and ``AU12L/R``, ``AU14L/R``; ``AU43`` is the
    closure level only (the caller decides whether it was held long enough).
    """
    out, v = _geometric(x, neutral, offset)
    if motion is not None:
        combine(out, v, x, neutral, motion)
    return _bilateral(out)


def geometric_intensities(x: np.ndarray, neutral: np.ndarray
                          ) -> tuple[dict[str, float], np.ndarray]:
    """``intensities(x, neutral)`` and the geometric evidence it was read from (for
    :func:`with_motion` of the same ``x`` and ``neutral``)."""
    out, v = _geometric(x, neutral)
    return _bilateral(out), v


def _bilateral(out: dict[str, float]) -> dict[str, float]:
    out["AU12"] = 0.5 * (out["AU12L"] + out["AU12R"])
    out["AU14"] = 0.5 * (out["AU14L"] + out["AU14R"])
    return out


def _mean2(a: np.ndarray, idx: list[int]) -> float:
    """``float(a[idx].mean())`` of two entries, without numpy's reduction machinery (the same
    sum and the same division by two)."""
    return (float(a[idx[0]]) + float(a[idx[1]])) / 2.0


def _geometric(x: np.ndarray, neutral: np.ndarray, offset: np.ndarray | None = None
               ) -> tuple[dict[str, float], np.ndarray]:
    """The geometric part of :func:`intensities` (without ``AU12``/``AU14``) and the
    evidence ``v`` of :func:`linear_evidence` (minus ``offset``) it was read from."""
    v = linear_evidence(x, neutral)
    if offset is not None:
        v = v - offset
    r = np.clip((v - _DEAD) / _SPAN, 0.0, 1.0) * 5.0
    out = dict(zip(LINEAR, r.tolist(), strict=True))
    thin = 1.0 - float(x[_THICK]) / max(float(neutral[_THICK]), 1e-3)
    closure = 1.0 - _mean2(x, _EYE) / max(_mean2(neutral, _EYE), 1e-3)
    for name, value in (("AU28", thin), ("AU45", closure), ("AU43", closure)):
        _, dead, full, _ = RATIO_AUS[name]
        out[name] = _unit((value - dead) / (full - dead)) * 5.0
    return out, v


def with_motion(aus: dict[str, float], x: np.ndarray, neutral: np.ndarray,
                motion: dict[str, float], v: np.ndarray | None = None) -> dict[str, float]:
    """``intensities(x, neutral, motion)`` from already computed ``aus =
    intensities(x, neutral)`` (a copy; saves the geometric part); ``v``: the geometric
    evidence (:func:`linear_evidence`) of ``x`` against ``neutral`` if known."""
    out = dict(aus)
    combine(out, linear_evidence(x, neutral) if v is None else v, x, neutral, motion)
    return _bilateral(out)


def _unit(x: float) -> float:
    return 0.0 if x < 0.0 else 1.0 if x > 1.0 else x


def _split_tightener(motion: dict[str, float], v: np.ndarray) -> dict[str, float]:
    """``motion`` with the lip tightening held by the dimplers and the pressor moved to AU23
    (see :func:`combine`; a copy when anything moves)."""
    a14 = 0.5 * (motion.get("AU14R", 0.0) + motion.get("AU14L", 0.0))
    a24 = motion.get("AU24", 0.0)
    if a14 <= 0.0 or a24 <= 0.0 or "AU23" not in motion:
        return motion
    share = float(np.sqrt(a14 / SPLIT_14 * a24 / SPLIT_24))
    share *= _unit(float(v[_ROW["AU24"]]) / AU_TABLE["AU24"].dead)
    share *= _unit(float(v[_ROW["AU23"]]) / AU_TABLE["AU23"].dead)
    if share <= motion["AU23"]:
        return motion
    out = dict(motion)
    out["AU23"] = share
    for side in ("AU14R", "AU14L"):
        out[side] = max(0.0, out[side] - SPLIT_14 * share)
    return out


def combine(out: dict[str, float], v: np.ndarray, x: np.ndarray, neutral: np.ndarray,
            motion: dict[str, float]) -> None:
    """Merge skin-motion evidence into geometric intensities ``out`` (in place); ``v`` is the
    geometric evidence (:func:`linear_evidence`) of measurements ``x`` against ``neutral``,
    read as the direction the mesh moved (:func:`_direction`).

    A unit's motion intensity (flow coefficient over :data:`FLOW_GAIN`, minus its dead zone
    in :data:`MOTION_DEAD`) counts fully once the mesh moves the same way, half when the mesh
    does not move, not at all when it moves the opposite way: the mesh follows a deformation
    only partly but rarely the wrong way, while flow can explain one real movement by a mix
    of templates. For the units in :data:`CONFIRM` the mesh's reading in turn counts only
    :data:`CONFIRM_ALONE` of itself without skin motion. The larger of the two is kept. Eye
    closure (43, 45) is read from the eye darkness (``closure``) alone.

    A lip tightening the fit split into dimplers and pressor (:data:`SPLIT_14`) is read back
    as AU23 when both are present: the tightening their coefficients hold together (the
    geometric mean of the two in AU23 units), counted as far as the mesh shows the lips
    pressing together (the pressor's direction) and the tightener's own movement (lips
    thinner, mouth narrower); that share is taken from the dimplers' motion.
    """
    v = _direction(v, x, neutral)
    motion = _split_tightener(motion, v)
    for name, (dead, agree) in MOTION_DEAD.items():
        m = motion.get(name)
        if m is None:
            continue
        ms = m / FLOW_GAIN
        rm = 5.0 * _unit((ms - dead) / (5.0 - dead))
        if name == "AU17" and x[_GAP] > 0.03:
            agree = 1.0  # parted lips: the chin raiser pushes the lower lip up, closing them
        if agree > 0:
            g = float(v[_ROW[name]]) / (agree * AU_TABLE[name].dead)
            rm *= _unit(g if name in NEEDS_MESH else 0.5 + 0.5 * g)
        if name in CONFIRM:
            out[name] *= _unit(CONFIRM_ALONE + (1.0 - CONFIRM_ALONE) * ms / dead)
        if rm > out[name]:
            out[name] = rm
    closure = motion.get("closure")
    if closure is not None:
        rc = 5.0 * _unit((closure - CLOSURE_DEAD) / (CLOSURE_FULL - CLOSURE_DEAD))
        out["AU45"] = out["AU43"] = max(out["AU45"], rc)
