"""The FACS test oracle: warped faces read back their action units, unwarped ones do not;
intensity rises with the warp; EMFACS combinations are named as their emotion."""

import numpy as np
import pytest

from tells.cli.main import main
from tells.emotion.cnn import EmotionCNN
from tells.emotion.fusion import AU_WEIGHT_VIDEO, fuse
from tells.errors import InputError
from tells.facs.aus import intensities
from tells.facs.features import measure
from tells.facs.motion import crop_points, gray, motion_evidence
from tells.facs.oracle import _read, perturb
from tells.facs.prototypes import prototype_scores
from tells.facs.synth import displacements, parse_aus, synth_face
from tells.io.samples import sample_path
from tells.io.video import open_video


@pytest.fixture(scope="module")
def face():
    """Frame 0 of single_face.mp4 (a resting face), its landmarks and its measurements."""
    with open_video(sample_path("single_face.mp4")) as src:
        img = next(iter(src)).image
    obs, lm = _read(img)
    return img, lm, measure(obs.aligned, obs.crop, obs.pose[1])


def _read_aus(img, neutral):
    obs, _ = _read(img)
    return intensities(measure(obs.aligned, obs.crop, obs.pose[1]), neutral), obs


@pytest.fixture(scope="module")
def neutral_image(face):
    """The unwarped face's gray aligned crop: the person's neutral image."""
    img, _, _ = face
    obs, _ = _read(img)
    return gray(obs.crop)


def _read_with_motion(img, neutral, neutral_gray):
    obs, _ = _read(img)
    ev = motion_evidence(neutral_gray, gray(obs.crop), crop_points(obs.landmarks,
                                                                     obs.crop_matrix))
    return intensities(measure(obs.aligned, obs.crop, obs.pose[1]), neutral, ev), obs


def test_parse_aus_letters_sides_and_dicts():
    assert parse_aus("1+2+5B+26") == {"AU01": 3.0, "AU02": 3.0, "AU05": 2.0, "AU26": 3.0}
    assert parse_aus("R12A+R14A") == {"AU12R": 1.0, "AU14R": 1.0}
    assert parse_aus({"AU06": 3.0, "AU12L": 1.0}) == {"AU06": 3.0, "AU12L": 1.0}
    with pytest.raises(InputError):
        parse_aus("99")
    with pytest.raises(InputError):
        parse_aus({"AU12": 7})


def test_unilateral_template_moves_one_side_only():
    d = displacements("R12C")
    from tells.face.geometry import reference_shape

    x = reference_shape()[:, 0]
    assert np.abs(d[x < -0.1]).max() > 0.02
    assert np.abs(d[x > 0.1]).max() == 0.0


@pytest.mark.parametrize("au", ["AU01", "AU12", "AU15", "AU20", "AU26"])
def test_au_at_c_is_detected_and_not_on_unwarped(face, au):
    img, lm, neutral = face
    warped = synth_face(img, {au: 3.0}, landmarks=lm)
    aus, _ = _read_aus(warped, neutral)
    key = au if au not in ("AU12",) else "AU12L"
    assert aus[key] >= 1.0
    plain, _ = _read_aus(perturb(img, 0), neutral)
    assert plain[key] < 1.0


def test_intensity_rises_with_the_warp(face):
    img, lm, neutral = face
    for au in ("AU12", "AU26"):
        levels = [_read_aus(synth_face(img, {au: v}, landmarks=lm), neutral)[0][au]
                  for v in (1.0, 3.0, 5.0)]
        assert levels[0] < levels[1] < levels[2], (au, levels)


@pytest.mark.parametrize("code,emotion", [("6+12", "happiness"), ("1+2+5B+26", "surprise")])
def test_emfacs_combinations_named(face, code, emotion):
    img, lm, neutral = face
    aus, obs = _read_aus(synth_face(img, code, landmarks=lm), neutral)
    p = fuse(EmotionCNN()(obs.crop), prototype_scores(aus), AU_WEIGHT_VIDEO)
    from tells.contract import EMOTIONS

    assert EMOTIONS[int(p.argmax())] == emotion


def test_cli_writes_the_warped_image(tmp_path, capfd):
    out = tmp_path / "smile.png"
    assert main(["synth", "face", str(sample_path("single_face.jpg")), "--aus", "6+12", "-o",
                 str(out)]) == 0
    import cv2

    img = cv2.imread(str(out))
    assert img is not None and img.shape[:2] == cv2.imread(
        str(sample_path("single_face.jpg"))).shape[:2]
    assert main(["synth", "face", str(sample_path("single_face.jpg")), "--aus", "77", "-o",
                 str(out)]) == 2
    assert "77" in capfd.readouterr().err  # fd level: the face layer re-opens stderr


@pytest.mark.parametrize("au", ["AU05", "AU06", "AU09", "AU45"])
def test_units_the_mesh_misses_are_seen_with_the_neutral_image(face, neutral_image, au):
    """Upper lid raiser, cheek raiser, nose wrinkler and blink: the mesh barely follows
    them, the skin motion and eye darkness against the neutral image do."""
    img, lm, neutral = face
    aus, _ = _read_with_motion(synth_face(img, {au: 3.0}, landmarks=lm), neutral,
                               neutral_image)
    assert aus[au] >= 1.0
    plain, _ = _read_with_motion(perturb(img, 1), neutral, neutral_image)
    assert plain[au] < 1.0


@pytest.mark.parametrize("emotion", ["disgust", "anger", "sadness"])
def test_emfacs_prototypes_named_with_the_neutral_image(face, neutral_image, emotion):
    from tells.facs.prototypes import prototype_request

    img, lm, neutral = face
    warped = synth_face(img, prototype_request(emotion, 3.0), landmarks=lm)
    aus, _ = _read_with_motion(warped, neutral, neutral_image)
    scores = prototype_scores(aus)
    assert max(scores, key=scores.get) == emotion, {k: round(v, 2) for k, v in aus.items()
                                                    if v >= 1}


def test_closed_lid_takes_the_lid_skin_not_lashes_or_make_up():
    from tells.facs.synth import _lid_skin

    img = np.full((200, 200, 3), (200, 160, 140), np.uint8)
    img[94:100] = (40, 30, 30)  # lashes and eye make-up just above the lid
    skin = _lid_skin(img, np.array([100.0, 100.0]), unit=100.0)
    assert np.abs(skin - np.array([200, 160, 140])).max() < 10


@pytest.mark.parametrize("au", ["AU17", "AU23", "AU24"])
def test_lips_pressed_together_thin_without_folding(au):
    """On lips that meet, units pushing the lips together leave the line where they meet in
    place and never move a lip's outer edge past it (a fold renders as a wavy smear). AU28
    (lips sucked in until they vanish) folds thin lips at C and any lips at E: a 2-D warp
    cannot hide the red lips."""
    from tells.face.geometry import reference_shape
    from tells.facs.synth import LOWER_INNER, UPPER_INNER

    ref = reference_shape()[:, :2]
    new = ref + displacements({au: 5.0}, closed=1.0)
    inner = UPPER_INNER + LOWER_INNER
    assert np.abs(new[inner, 1] - ref[inner, 1]).max() < 1e-9  # (23 also narrows the mouth)
    upper_outer = [185, 40, 39, 37, 0, 267, 269, 270, 409]
    lower_outer = [146, 91, 181, 84, 17, 314, 405, 321, 375]
    ui = np.array(UPPER_INNER)[np.argsort(ref[UPPER_INNER, 0])]
    li = np.array(LOWER_INNER)[np.argsort(ref[LOWER_INNER, 0])]
    assert (new[upper_outer, 1] < np.interp(new[upper_outer, 0], ref[ui, 0], ref[ui, 1])).all()
    assert (new[lower_outer, 1] > np.interp(new[lower_outer, 0], ref[li, 0], ref[li, 1])).all()
    # lips apart: the whole lip moves (nothing to fold over)
    assert np.abs(displacements({au: 5.0}, closed=0.0)[[13, 14], 1]).max() > 0.01


@pytest.mark.parametrize("au,where", [("AU04", 9), ("AU09", 6), ("AU17", 200)])
def test_appearance_folds_and_bulges_show_where_facs_puts_them(face, au, where):
    """The skin changes of a unit (AU4's furrows between the brows, AU9's wrinkles on the nose
    bridge, AU17's chin boss) change the skin's brightness near the mesh point where FACS
    puts them, more at E than at B, and nothing far from the face; without ``appearance``
    (the oracle) the warp is geometry only."""
    img, lm, _ = face
    unit = float(np.linalg.norm(lm[263, :2] - lm[33, :2]))
    plain = synth_face(img, {au: 5.0}, landmarks=lm, appearance=False).astype(float)
    assert np.array_equal(plain, synth_face(img, {au: 5.0}, landmarks=lm).astype(float))
    x, y = np.round(lm[where, :2]).astype(int)
    r = int(0.12 * unit)

    def change(level):
        shaded = synth_face(img, {au: level}, landmarks=lm, appearance=True).astype(float)
        if level != 5.0:
            base = synth_face(img, {au: level}, landmarks=lm, appearance=False).astype(float)
        else:
            base = plain
        diff = np.abs(shaded - base).mean(axis=2)
        return diff, float(diff[y - r:y + r, x - r:x + r].mean())

    diff, at_e = change(5.0)
    _, at_b = change(2.0)
    assert at_e > 2.0 and at_e > 1.5 * at_b > 0, (at_e, at_b)
    x0, y0 = np.floor(lm[:, :2].min(0) - 0.35 * unit).astype(int)
    x1, y1 = np.ceil(lm[:, :2].max(0) + 0.35 * unit).astype(int)
    outside = np.ones(diff.shape, bool)
    outside[max(0, y0):y1, max(0, x0):x1] = False
    assert diff[outside].max() == 0.0
