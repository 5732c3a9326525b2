"""Action units from geometry: zero at neutral, the right unit and side, monotonic, and not lit
by an open mouth or by head pose."""

import numpy as np
import pytest

from tells.face.geometry import mirror_index, reference_shape
from tells.facs.aus import AU_TABLE, RATIO_AUS, intensities
from tells.facs.baseline import population_neutral
from tells.facs.features import NAMES, measure, measure_geometry
from tells.facs.prototypes import contempt_score, prototype_scores
from tells.facs.stage import au_row


def _aus(shape, neutral_shape=None):
    ref = reference_shape() if neutral_shape is None else neutral_shape
    return intensities(measure(shape), measure(ref))


def _moved(points, dx=0.0, dy=0.0):
    s = reference_shape().copy()
    s[list(points), 0] += dx
    s[list(points), 1] += dy
    return s


def test_every_au_has_a_one_line_measurement_with_its_facs_name():
    for spec in AU_TABLE.values():
        assert ":" in spec.how and "\n" not in spec.how
    for _, _, _, how in RATIO_AUS.values():
        assert ":" in how


def test_neutral_reads_zero_everywhere():
    aus = _aus(reference_shape())
    assert max(aus.values()) == 0.0


def test_left_corner_raise_is_left_12_and_grows_monotonically():
    left_corner = [291, 409, 375]  # subject's left (x > 0)
    values = [_aus(_moved(left_corner, dy=-d)) for d in (0.0, 0.02, 0.04, 0.06, 0.08)]
    left = [v["AU12L"] for v in values]
    assert all(b >= a for a, b in zip(left, left[1:], strict=False)) and left[-1] > left[1]
    assert left[-1] >= 3.0
    assert values[-1]["AU12R"] < 1.0


def test_mirrored_movement_gives_mirrored_unilateral_reading():
    m = mirror_index()
    pts = [291, 409, 375]
    left = _aus(_moved(pts, dy=-0.06))
    right = _aus(_moved([int(m[p]) for p in pts], dy=-0.06))
    assert left["AU12L"] == pytest.approx(right["AU12R"], abs=0.3)


def test_jaw_opening_lights_25_26_but_not_lip_corner_units():
    ref = reference_shape()
    lower = np.where(ref[:, 1] > 0.245)[0]
    # jaw drops: lower lip and chin move down, the lip corners half as much
    shape = ref.copy()
    shape[lower, 1] += 0.12
    shape[[61, 291], 1] += 0.06
    aus = _aus(shape)
    assert aus["AU26"] >= 2.0 and aus["AU25"] >= 1.0
    for quiet in ("AU12", "AU15", "AU20", "AU14", "AU17", "AU24"):
        assert aus[quiet] < 1.0, quiet


def test_brow_raise_reads_1_and_2_not_4():
    inner = [107, 66, 55, 65, 336, 296, 285, 295, 105, 334]
    outer = [70, 46, 63, 53, 300, 276, 293, 283]
    aus = _aus(_moved(inner + outer, dy=-0.06))
    assert aus["AU01"] >= 2.0 and aus["AU02"] >= 2.0
    assert aus["AU04"] == 0.0


def test_eye_closure_reads_blink():
    ref = reference_shape()
    shape = ref.copy()
    for up, lo in ((159, 145), (158, 144), (160, 153), (386, 374), (385, 373), (387, 380)):
        shape[up, 1] = ref[lo, 1] - 0.002
    aus = _aus(shape)
    assert aus["AU45"] >= 4.0
    assert aus["AU05"] == 0.0


def test_rows_have_contract_columns_and_presence_follows_intensity():
    aus = _aus(_moved([291, 61], dy=-0.08))
    row = au_row(aus)
    assert row["AU12_c"] == 1.0 and row["AU01_c"] == 0.0
    assert {"AU12L_r", "AU12R_r", "AU14L_r", "AU14R_r", "AU45_r", "AU43_c"} <= set(row)


def test_population_neutral_has_every_measurement():
    assert population_neutral().shape == (len(NAMES),)
    assert np.isfinite(population_neutral()).all()


def test_mesh_without_iris_is_measured():
    geo = measure_geometry(reference_shape()[:468])
    assert np.isfinite(geo).all()


def test_prototypes_name_their_emotions():
    def top(aus):
        s = prototype_scores(aus)
        return max(s, key=s.get)

    assert top({"AU06": 3, "AU12": 3, "AU12L": 3, "AU12R": 3}) == "happiness"
    assert top({"AU01": 3, "AU04": 3, "AU15": 3}) == "sadness"
    assert top({"AU01": 3, "AU02": 3, "AU05": 2, "AU26": 3}) == "surprise"
    assert top({"AU04": 3, "AU05": 3, "AU07": 3, "AU23": 3}) == "anger"
    assert top({"AU09": 3, "AU15": 3, "AU17": 3}) == "disgust"
    assert top({"AU01": 3, "AU02": 3, "AU04": 3, "AU05": 3, "AU07": 3, "AU20": 3,
                "AU26": 3}) == "fear"
    assert top({"AU12R": 1.5, "AU14R": 1.5, "AU12": 0.75, "AU14": 0.75}) == "contempt"


def test_symmetric_smile_is_not_contempt():
    assert contempt_score({"AU12L": 3, "AU12R": 3, "AU14L": 1, "AU14R": 1}) == 0.0
    assert contempt_score({"AU12L": 0, "AU12R": 0, "AU14L": 5, "AU14R": 0}) == 0.0


def test_smile_lifting_the_nose_wings_is_not_the_nose_wrinkler():
    corners = [61, 291]
    wings = [64, 48, 129, 102, 294, 278, 358, 331]
    smile = _moved(corners, dy=-0.1)
    smile[wings, 1] -= 0.035  # the mid-face rising with a broad smile
    assert _aus(smile)["AU12"] >= 3.0 and _aus(smile)["AU09"] < 1.0
    alone = _moved(wings, dy=-0.035)  # the same rise of the wings without a smile
    assert _aus(alone)["AU09"] >= 1.0


def test_brows_drawn_down_a_little_by_a_broad_smile_are_not_the_brow_lowerer():
    inner_r, inner_l = [107, 55, 66, 65], [336, 285, 296, 295]
    brows = inner_r + inner_l + [70, 46, 63, 53, 300, 276, 293, 283]

    def frown(shape, down, together):
        shape[brows, 1] += down
        shape[inner_r, 0] += together  # the subject's right side is x < 0
        shape[inner_l, 0] -= together
        return shape

    # the cheek raiser's pull lowers the brows a little and draws them in (single_face.mp4)
    smile = frown(_moved([61, 291], dy=-0.1), 0.015, 0.008)
    assert _aus(smile)["AU12"] >= 3.0 and _aus(smile)["AU04"] < 0.5
    alone = frown(reference_shape().copy(), 0.015, 0.008)  # the same without a smile
    assert _aus(alone)["AU04"] >= 1.0
    # a frown leaking through the smile still reads
    leak = frown(_moved([61, 291], dy=-0.1), 0.03, 0.015)
    assert _aus(leak)["AU04"] >= 1.0
    # the sad brow (inner ends raised and drawn together) over a mouth stretched up and wide
    # (a TFEID sadness photo) is not a smile's brow: it keeps its brow lowerer
    sad = frown(_moved([61, 291], dy=-0.1), 0.0, 0.015)
    sad[inner_r + inner_l, 1] -= 0.005
    assert _aus(sad)["AU04"] >= 1.0


def test_crows_feet_beside_a_wide_open_eye_are_not_the_cheek_raiser():
    neutral = measure(reference_shape())
    crow = [NAMES.index("tex_crow_R"), NAMES.index("tex_crow_L")]
    eyes = [NAMES.index("eye_open_R"), NAMES.index("eye_open_L")]
    lined = neutral.copy()
    lined[crow] += 0.15  # texture in the patches by the outer eye corners
    assert intensities(lined, neutral)["AU06"] >= 2.0
    wide = lined.copy()
    wide[eyes] += 0.03  # the eyes opened wide: corners and lashes in the patches
    assert intensities(wide, neutral)["AU06"] < 0.5
    narrow = lined.copy()
    narrow[eyes] -= 0.03  # narrowed, as the cheek raiser does: crow's feet count
    assert intensities(narrow, neutral)["AU06"] >= 2.0


def test_lines_across_the_nose_without_the_wings_rising_are_not_the_nose_wrinkler():
    """Fingers laid across the nose (WolfgangLanger_Pexels.mp4, 3.4-5.5 s) draw lines on the
    nose bridge while the wings stay where they were; the nose wrinkler lifts the wings."""
    neutral = measure(reference_shape())
    lines, wing = NAMES.index("tex_nose"), NAMES.index("nose_wing_raise")
    fingers = neutral.copy()
    fingers[lines] += 0.05
    assert intensities(fingers, neutral)["AU09"] < 0.5
    lifted = neutral.copy()
    lifted[wing] += 0.01  # the wings alone: AU9 below a trace
    wrinkled = lifted.copy()
    wrinkled[lines] += 0.02  # with the lines AU9 brings: both count
    assert intensities(wrinkled, neutral)["AU09"] >= 2.0
    assert intensities(wrinkled, neutral)["AU09"] > intensities(lifted, neutral)["AU09"] + 1.5


def test_broad_smile_pulling_the_corners_out_is_not_the_lip_stretcher():
    right, left = [61, 146, 91], [291, 375, 321]
    smile = _moved(right, dx=-0.14, dy=-0.095)  # out more than up, as a broad smile does
    smile[left, 0] += 0.14
    smile[left, 1] -= 0.095
    assert _aus(smile)["AU12"] >= 3.0 and _aus(smile)["AU20"] < 1.0
    stretch = _moved(right, dx=-0.14)  # the same pull sideways without the rise
    stretch[left, 0] += 0.14
    assert _aus(stretch)["AU20"] >= 3.0


def test_inner_brow_height_is_read_from_the_inner_eye_corner():
    """The inner brow raiser moves the brow away from the eye: brows and eyes shifted up
    together (a mesh fit that settles the upper face higher, as a pitched head does) read no
    AU1, a brow raised from the eye does."""
    ref = reference_shape()
    upper = np.where(ref[:, 1] < -0.05)[0]  # brows, eyes, upper nose
    together = intensities(measure(_moved(upper, dy=-0.03)), measure(ref))
    assert together["AU01"] == 0.0
    raised = intensities(measure(_moved((107, 55, 66, 65, 336, 285, 296, 295), dy=-0.05)),
                         measure(ref))
    assert raised["AU01"] >= 2.0


def _forehead_lines(vertical: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """A flat gray crop and the same crop with four dark lines drawn across the middle of the
    forehead (from the crop template's brows and forehead points, not the measurement's
    patch)."""
    from tells.face.align import crop_template

    tpl = crop_template(128)
    flat = np.full((128, 128), 150, np.uint8)
    lined = flat.copy()
    top, brow = tpl[10][1], 0.5 * (tpl[107][1] + tpl[336][1])
    x0, x1 = int(tpl[105][0]), int(tpl[334][0])
    if vertical:
        for x in range(58, 72, 3):  # furrows running through the forehead, no ends in it
            lined[:int(brow) + 12, x] = 110
    else:
        for y in np.linspace(top + 3, brow - 3, 5).astype(int):
            lined[y, x0:x1] = 110
    return flat, lined


def test_forehead_lines_read_inner_brow_raise_not_vertical_furrows():
    from tells.facs.features import INDEX, measure_appearance

    flat, lined = _forehead_lines()
    k = INDEX["tex_forehead"] - len(NAMES) + len(measure_appearance(flat))
    assert measure_appearance(lined)[k] > measure_appearance(flat)[k] + 0.02
    _, furrowed = _forehead_lines(vertical=True)
    assert measure_appearance(furrowed)[k] < measure_appearance(flat)[k] + 0.005
    ref = reference_shape()
    aus = intensities(measure(ref, lined), measure(ref, flat))
    assert aus["AU01"] >= 1.0 and aus["AU04"] == 0.0 and aus["AU02"] == 0.0



@pytest.mark.parametrize("size", [64, 128, 200])
def test_wrinkle_energy_of_all_patches_at_once_is_the_per_patch_definition(size):
    """The five patches gathered in one pass read exactly what each patch's own definition
    (mean absolute second difference across the wrinkles over the mean level, float32) reads,
    on gray, RGB and non-contiguous crops."""
    import cv2

    from tells.facs.features import _PATCH_AXES, _patches, measure_appearance

    rng = np.random.default_rng(size)
    for _ in range(5):
        gray = cv2.GaussianBlur(rng.integers(0, 256, (size, size)).astype(np.uint8), (0, 0), 0.8)
        for crop in (gray, np.dstack([gray, gray[::-1], gray.T]).copy(), gray[:, ::-1]):
            g = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY) if crop.ndim == 3 else crop
            want = []
            for box, axis in zip(_patches(size), _PATCH_AXES, strict=True):
                p = g[box].astype(np.float32)
                want.append(float(np.abs(np.diff(p, n=2, axis=axis)).mean()
                                  / max(8.0, float(p.mean()))))
            assert measure_appearance(crop).tolist() == want
