"""Action units from skin motion: templates point the way FACS says skin moves, the flow fit
names the unit that moved (and its side), alignment jitter and a turned head are not read as
action units, eye closure is seen without the mesh, and the neutral image is a robust median."""

import cv2
import numpy as np
import pytest

from tells.face.align import crop_template
from tells.face.geometry import reference_shape
from tells.facs.aus import _ROW, intensities, linear_evidence
from tells.facs.baseline import NeutralCrop
from tells.facs.features import NAMES, measure
from tells.facs.motion import (
    MOTION_AUS,
    dense_template,
    eye_darkness,
    motion_aus,
    motion_evidence,
)
from tells.facs.stage import MIN_NEUTRAL_FRAMES, MOTION_POSE, AUStage

SIZE = 128


@pytest.fixture(scope="module")
def texture():
    """A smooth random texture the size of an aligned crop (flow needs texture, not a face)."""
    rng = np.random.default_rng(7)
    img = rng.integers(0, 256, (SIZE, SIZE)).astype(np.uint8)
    img = cv2.GaussianBlur(img, (0, 0), 1.5)
    return cv2.normalize(img, None, 20, 235, cv2.NORM_MINMAX)


def _warp(img, field):
    """Move the texture's content by ``field`` (forward displacement, small and smooth)."""
    yy, xx = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32)
    f = field.astype(np.float32)
    return cv2.remap(img, xx - f[..., 0], yy - f[..., 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REFLECT)


def test_templates_move_skin_the_facs_way():
    tpl = crop_template(SIZE)
    inner_brow = np.round(tpl[107]).astype(int)  # subject's right inner brow
    mouth_corner_l = np.round(tpl[291]).astype(int)  # subject's left lip corner
    up = dense_template("AU01")
    assert up[inner_brow[1], inner_brow[0], 1] < -1.0  # brow moves up (y down = +)
    assert np.abs(up[mouth_corner_l[1], mouth_corner_l[0]]).max() < 0.05
    smile_l = dense_template("AU12L")
    dx, dy = smile_l[mouth_corner_l[1], mouth_corner_l[0]]
    assert dy < -1.0 and dx > 0.5  # left corner up and out (to image right)
    right_half = smile_l[:, : SIZE // 2 - 8]
    assert np.abs(right_half).max() < 1e-6  # the subject's right side does not move
    with pytest.raises(ValueError):
        dense_template("AU45")


@pytest.mark.parametrize("au", ["AU01", "AU09", "AU12L", "AU15", "AU26"])
def test_flow_fit_names_the_unit_that_moved(texture, au):
    moved = _warp(texture, dense_template(au) * 0.6)  # intensity C
    read = motion_aus(texture, moved)
    assert read[au] >= 1.0
    others = {k: v for k, v in read.items() if k != au}
    assert read[au] > max(others.values()), others


def test_one_sided_smile_is_read_on_its_side(texture):
    read = motion_aus(texture, _warp(texture, dense_template("AU12R") * 0.6))
    assert read["AU12R"] >= 1.0 and read["AU12L"] < 0.5 * read["AU12R"]


def test_alignment_jitter_is_not_an_action_unit(texture):
    # the crop re-aligned a little differently: shifted, rotated and rescaled
    m = cv2.getRotationMatrix2D((SIZE / 2, SIZE / 2), 1.5, 1.02)
    m[:, 2] += (1.2, -0.8)
    moved = cv2.warpAffine(texture, m, (SIZE, SIZE), borderMode=cv2.BORDER_REFLECT)
    read = motion_aus(texture, moved)
    assert max(read.values()) < 0.5, read


def test_no_motion_reads_zero(texture):
    read = motion_aus(texture, texture.copy())
    assert set(read) == set(MOTION_AUS)
    assert max(read.values()) < 0.05


def _eyes(open_: bool) -> np.ndarray:
    """A flat skin-coloured crop with two dark eye openings (or none: lids closed)."""
    img = np.full((SIZE, SIZE), 150, np.uint8)
    if open_:
        tpl = crop_template(SIZE)
        for corners in ((33, 133), (263, 362)):
            c = tpl[list(corners)].mean(axis=0)
            cv2.ellipse(img, (int(c[0]), int(c[1])), (8, 3), 0, 0, 360, 40, -1)
    return img


def test_eye_closure_is_seen_in_the_image_not_the_mesh():
    open_, shut = _eyes(True), _eyes(False)
    assert (eye_darkness(open_) > eye_darkness(shut) + 0.02).all()
    ev = motion_evidence(open_, shut)
    assert ev["closure"] > 0.9
    # the mesh did not move at all, the eye closed anyway: blink
    x = measure(reference_shape())
    assert intensities(x, x, ev)["AU45"] >= 4.0
    assert intensities(x, x, motion_evidence(open_, open_.copy()))["AU45"] == 0.0


def test_motion_against_the_mesh_direction_is_not_accepted():
    x0 = measure(reference_shape())
    # the mesh shows both lip corners raised (a smile) ...
    s = reference_shape().copy()
    s[[61, 291], 1] -= 0.04
    x = measure(s)
    assert linear_evidence(x, x0)[_ROW["AU15"]] < 0
    # ... while the flow fit offers a lip corner depressor: a smile is not sadness
    aus = intensities(x, x0, {"AU15": 2.0, "closure": 0.0})
    assert aus["AU15"] < 1.0
    # the same flow with a still mesh counts (half: the mesh does not disagree either)
    still = intensities(x0, x0, {"AU15": 2.0, "closure": 0.0})
    assert still["AU15"] >= 1.0


def test_nose_wrinkler_motion_needs_the_mesh_to_show_it():
    x0 = measure(reference_shape())
    # a smile's cheeks rising round the nose fit the nose wrinkler's flow template
    wings = [64, 48, 129, 102, 294, 278, 358, 331]
    smile = reference_shape().copy()
    smile[[61, 291], 1] -= 0.1
    smile[wings, 1] -= 0.04  # the mid-face rising with it (single_face.mp4)
    assert intensities(measure(smile), x0, {"AU09": 2.0, "closure": 0.0})["AU09"] < 0.5
    # with the nose wings rising in the mesh too, the same flow is the nose wrinkler
    wrinkle = reference_shape().copy()
    wrinkle[wings, 1] -= 0.012
    assert intensities(measure(wrinkle), x0, {"AU09": 2.0, "closure": 0.0})["AU09"] >= 1.5


def test_jaw_drop_motion_needs_the_chin_to_drop_more_than_lips_drawn_apart_bring():
    """Lips drawn apart over closed teeth (a broad smile showing them) move the lower lip
    down through the jaw drop's flow template while the chin stays (single_face.mp4: flow
    read AU26 at 1.5-2, OpenFace 0.2); a dropped jaw takes the chin down with the lip."""
    x0 = measure(reference_shape())
    gap, jaw = NAMES.index("lip_gap"), NAMES.index("jaw_drop")
    flow = {"AU26": 1.4, "closure": 0.0}
    teeth = x0.copy()
    teeth[gap] += 0.15
    teeth[jaw] += 0.035  # the chin hardly moves
    assert intensities(teeth, x0, flow)["AU26"] < 1.0
    dropped = x0.copy()
    dropped[gap] += 0.15
    dropped[jaw] += 0.08  # the chin goes down with the lower lip (WolfgangLanger_Pexels.mp4)
    assert intensities(dropped, x0, flow)["AU26"] >= 1.5


def test_neutral_image_is_a_median_robust_to_expressions():
    rng = np.random.default_rng(1)
    calm = np.full((16, 16), 100, np.uint8)
    n = NeutralCrop(warm=4, step=2.0)
    for i in range(200):
        frame = np.clip(calm + rng.normal(0, 3, calm.shape), 0, 255).astype(np.uint8)
        if i % 4 == 3:  # every fourth frame shows something very different
            frame = np.full_like(calm, 220)
        n.update(frame, (0.0, 0.05 * (i % 2), 0.0))
    assert abs(float(n.value().mean()) - 100.0) < 8.0
    assert n.value().nbytes == calm.nbytes and n._image.nbytes == calm.size * 4
    assert 0.0 <= n.pose[1] <= 0.05


def test_a_turned_head_gets_no_motion_reading(texture):
    n = NeutralCrop()
    for _ in range(MIN_NEUTRAL_FRAMES):
        n.update(texture, (0.0, 0.0, 0.0))
    moved = _warp(texture, dense_template("AU12L") * 0.6)
    near = AUStage._motion(n, moved, (0.0, MOTION_POSE[0] / 2, 0.0))
    far = AUStage._motion(n, moved, (0.0, MOTION_POSE[1] + 0.05, 0.0))
    assert near is not None and near["AU12L"] >= 1.0
    assert far is None
    young = NeutralCrop()
    young.update(texture, (0.0, 0.0, 0.0))
    assert AUStage._motion(young, moved, (0.0, 0.0, 0.0)) is None  # one frame: no neutral yet


def _open_mouth(extra: float = 0.0):
    ref = reference_shape()
    s = ref.copy()
    lower = np.where(ref[:, 1] > 0.245)[0]
    s[lower, 1] += 0.12 + extra
    s[[61, 291], 1] += 0.06 + extra / 2
    return s


def test_dimpler_motion_counts_on_a_face_whose_neutral_is_open_mouthed():
    # the neutral itself has the mouth open (a posed photo): the corners drawn in from there,
    # with the flow offering the dimpler, are the dimpler
    n = _open_mouth()
    x0 = measure(n)
    s = n.copy()
    s[61, 0] += 0.02  # subject's right corner (x < 0) towards the midline
    s[291, 0] -= 0.02
    x = measure(s)
    ev = {"AU14R": 1.5, "AU14L": 1.5, "closure": 0.0}
    aus = intensities(x, x0, ev)
    assert aus["AU14R"] >= 1.0 and aus["AU14L"] >= 1.0
    # the geometry alone (no neutral image) still does not read it on an open mouth
    assert intensities(x, x0)["AU14"] < 1.0


def test_dimpler_motion_on_a_mouth_opening_from_the_neutral_is_not_accepted():
    # a closed neutral whose mouth opens draws the corners in: the same flow is not a dimpler
    x0 = measure(reference_shape())
    x = measure(_open_mouth())
    ev = {"AU14R": 1.5, "AU14L": 1.5, "closure": 0.0}
    aus = intensities(x, x0, ev)
    assert aus["AU14R"] < 1.0 and aus["AU14L"] < 1.0


def test_lip_tightener_split_into_dimplers_and_pressor_is_read_back():
    from tells.facs.aus import SPLIT_14, SPLIT_24
    from tells.facs.features import INDEX
    from tells.facs.motion import _basis, _nonneg_solve, _pool

    # the constants: the tightener's template fitted without its own column
    w, fit, gram = _basis(SIZE)
    p = _pool(dense_template("AU23", SIZE) * 0.4)
    c = fit @ (np.concatenate([p[..., 0].ravel(), p[..., 1].ravel()]) * w)
    keep = np.array([n != "AU23" for n in MOTION_AUS])
    a, _ = _nonneg_solve(gram[keep][:, keep], c[keep].astype(np.float64))
    got = {n: 5.0 * v for n, v in zip([n for n in MOTION_AUS if n != "AU23"], a, strict=True)}
    assert got["AU14R"] == pytest.approx(2.0 * SPLIT_14, abs=0.1)
    assert got["AU14L"] == pytest.approx(2.0 * SPLIT_14, abs=0.1)
    assert got["AU24"] == pytest.approx(2.0 * SPLIT_24, abs=0.1)

    # lips pressed together (thinner) and the mouth narrower in the mesh, the flow split the
    # tightening into dimplers and pressor: read as the tightener, not as dimplers
    closed = reference_shape().copy()  # the reference lips are parted: close them
    closed[[14, 87, 317, 17, 84, 314], 1] -= 0.066
    x0 = measure(closed)
    assert x0[INDEX["lip_gap"]] < 0.01
    s = closed.copy()
    s[[0, 37, 267, 39, 269], 1] += 0.006
    s[[17, 84, 314], 1] -= 0.006
    s[61, 0] += 0.006
    s[291, 0] -= 0.006
    x = measure(s)
    assert intensities(x, x0)["AU23"] < 1.0  # too little for the mesh alone
    split = {"AU14R": 1.5, "AU14L": 1.5, "AU24": 1.0, "AU23": 0.0, "closure": 0.0}
    aus = intensities(x, x0, split)
    assert aus["AU23"] >= 1.0
    assert aus["AU14"] < 1.0
    # dimplers alone (no pressor motion) stay dimplers
    alone = intensities(x, x0, {**split, "AU24": 0.0})
    assert alone["AU23"] < 1.0 and alone["AU14"] >= 1.0
    # the same flow with the mesh's lips not pressing together: no tightener from the split
    s2 = closed.copy()
    s2[61, 0] += 0.006
    s2[291, 0] -= 0.006
    assert intensities(measure(s2), x0, split)["AU23"] < 1.0


def test_pressor_on_parted_lips_agrees_with_the_lips_closing():
    from tells.facs.features import INDEX

    open_ = reference_shape().copy()
    open_[[14, 87, 317, 17, 84, 314, 152, 175, 199, 200, 18], 1] += 0.2
    x0 = measure(open_)
    assert x0[INDEX["lip_gap"]] > 0.1
    closing = open_.copy()
    closing[[14, 87, 317, 17, 84, 314], 1] -= 0.03
    parting = open_.copy()
    parting[[14, 87, 317, 17, 84, 314], 1] += 0.03
    flow = {"AU24": 1.2, "closure": 0.0}
    assert intensities(measure(closing), x0, flow)["AU24"] >= 1.0
    assert intensities(measure(parting), x0, flow)["AU24"] == 0.0


def test_chin_raiser_motion_on_lips_parting_from_the_neutral_is_not_accepted():
    # a broad smile parts the lips; the flow may offer the chin raiser for the stretched lower
    # lip, but the chin raiser pushes the lower lip up and closes them (single_face.mp4 read 5)
    x0 = measure(reference_shape())
    x = measure(_open_mouth())
    flow = {"AU17": 3.0, "closure": 0.0}
    assert intensities(x, x0, flow)["AU17"] == 0.0
    # with the lips together the same flow is read
    assert intensities(x0, x0, flow)["AU17"] >= 1.0


def test_skin_motion_fit_survives_stepping_back_to_no_unit():
    """A fit from a POFA macro flash (hold 1 s) whose active-set loop, stepping back to stay
    non-negative, zeroed its only unit: the solve of the empty set raised inside LAPACK and
    `tells eval flashes` stopped. It is the zero solution there; the fit goes on."""
    from tells.facs.motion import _basis, _nonneg_solve

    _, _, gram = _basis(128)
    c = np.array([-67.5046, -32.5916, 51.0255, -18.5493, 46.2841, -10.7091, 53.8841, 5.3396,
                  -37.8128, 37.7803, 92.5526, -35.981, 0.5852, -28.0912, -121.0827, 63.4216,
                  81.0815, -14.741, -25.7512])
    start = np.zeros(len(c), bool)
    start[[10, 15]] = True  # the previous frame's units
    a, active = _nonneg_solve(gram, c, start)
    assert (a >= 0).all() and a.any()
    assert not (a[~active] > 0).any()
    # better than no unit at all (which costs 0)
    g = gram.astype(np.float64)
    cost = float(a @ g @ a - 2 * c @ a)
    assert cost < 0.0
