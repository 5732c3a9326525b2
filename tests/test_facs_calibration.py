"""A face's resting state over a whole recording: a neutral first seen inside an expression is
corrected offline, never the other way, and live analysis keeps the streaming neutral."""

import numpy as np
import pytest

import tells
from tells.api import default_stages
from tells.config import Settings
from tells.facs.aus import AU_TABLE, LINEAR, intensities, linear_evidence
from tells.facs.baseline import identity_tolerance, population_neutral
from tells.facs.calibration import MIN_ROWS, MIN_SECONDS, UNITS, InputLog, rest_offset
from tells.facs.features import INDEX


def _brows_up(amount: float) -> np.ndarray:
    """A change of the measurements that raises the inner brows by ``amount``."""
    d = np.zeros(len(population_neutral()))
    for name in ("brow_in_raise_R", "brow_in_raise_L"):
        d[INDEX[name]] = amount
    return d


def _t(n: int, seconds: float = 2 * MIN_SECONDS) -> np.ndarray:
    """Timestamps of ``n`` frames spread over ``seconds``."""
    return np.linspace(0.0, seconds, n)


def _recording(neutral_brows: float, frame_brows: list[float], seed: int = 0):
    """Frames of one face (measurement noise a tenth of a tolerance) read against a neutral
    whose inner brows sit ``neutral_brows`` above the face's resting state."""
    rest, tol = population_neutral(), identity_tolerance()
    rng = np.random.default_rng(seed)
    x = np.array([rest + _brows_up(b) + rng.normal(0, 0.01, len(rest)) * tol
                  for b in frame_brows])
    neutral = np.tile(rest + _brows_up(neutral_brows), (len(x), 1))
    return x, neutral


def test_a_neutral_seen_with_raised_brows_is_lowered_to_the_rest_of_the_recording():
    full = AU_TABLE["AU01"].full
    # the neutral holds the brows half a full raise up; the face rests 70% of the time and
    # raises its brows by that much in the other frames
    x, neutral = _recording(0.5 * full, [0.0] * 70 + [0.5 * full] * 30)
    offset = rest_offset(x, neutral, {}, _t(len(x)))
    assert offset is not None
    i = LINEAR.index("AU01")
    v = np.array([linear_evidence(a, b)[i] for a, b in zip(x, neutral, strict=True)])
    assert offset[i] == pytest.approx(np.median(v))
    assert offset[i] < -0.3 * AU_TABLE["AU01"].weights["brow_in_raise_R"] * full
    assert all(offset[LINEAR.index(n)] == 0.0 for n in LINEAR if n not in UNITS)
    before = [intensities(a, b)["AU01"] for a, b in zip(x, neutral, strict=True)]
    after = [intensities(a, b, offset=offset)["AU01"] for a, b in zip(x, neutral, strict=True)]
    # the raises read nothing against the raised neutral and read again once corrected
    assert max(before[70:]) < 1.0 <= min(after[70:])
    assert max(after[:70]) < 1.0


def test_never_lowered_however_expressive_the_recording():
    full = AU_TABLE["AU01"].full
    # a right neutral, the brows raised in 80% of the frames: nothing to correct
    x, neutral = _recording(0.0, [0.0] * 20 + [0.6 * full] * 80)
    assert rest_offset(x, neutral, {}, _t(len(x))) is None


def test_rest_is_read_where_the_rest_of_that_part_of_the_face_is_at_rest():
    """A face smiling through most of a clip: the smile pulls the corners up, against the lip
    corner depressor, and that is not the mouth's rest. The brows, another part, are still
    read over every frame."""
    rest, tol = population_neutral(), identity_tolerance()
    rng = np.random.default_rng(2)
    up = np.zeros(len(rest))
    for name in ("corner_raise_R", "corner_raise_L"):
        up[INDEX[name]] = 0.06
    x = np.array([rest + (up if i >= 40 else 0.0) + _brows_up(-0.02)
                  + rng.normal(0, 0.01, len(rest)) * tol for i in range(100)])
    neutral = np.tile(rest, (len(x), 1))
    i15 = LINEAR.index("AU15")
    v15 = np.array([linear_evidence(a, b)[i15] for a, b in zip(x, neutral, strict=True)])
    assert np.median(v15) < -2 * AU_TABLE["AU15"].dead  # read over all frames: "below rest"
    smile = np.array([intensities(a, b)["AU12"] for a, b in zip(x, neutral, strict=True)])
    assert (smile[40:] >= 1.0).all() and (smile[:40] < 1.0).all()
    offset = rest_offset(x, neutral, {"AU12": smile}, _t(len(x)))
    assert offset is not None
    assert offset[i15] == 0.0  # the 40 frames without the smile are the mouth's rest
    assert offset[LINEAR.index("AU01")] < 0.0  # the lowered brows are, over every frame
    many = rest_offset(x, neutral, {"AU12": np.zeros(len(x))}, _t(len(x)))
    assert many[i15] < 0.0  # without the smile's reading the mouth would be "corrected"


def test_too_short_a_recording_is_left_as_read():
    """Too few frames, or a clip shorter than MIN_SECONDS (a posed clip made to show one
    expression may show it most of the time)."""
    x, neutral = _recording(0.5 * AU_TABLE["AU01"].full, [0.0] * (MIN_ROWS - 1))
    assert rest_offset(x, neutral, {}, _t(len(x))) is None
    x, neutral = _recording(0.5 * AU_TABLE["AU01"].full, [0.0] * MIN_ROWS)
    assert rest_offset(x, neutral, {}, _t(len(x))) is not None
    assert rest_offset(x, neutral, {}, _t(len(x), 0.9 * MIN_SECONDS)) is None


def test_input_log_gives_back_what_was_logged():
    log = InputLog()
    rng = np.random.default_rng(1)
    rows = [(i % 3, rng.normal(size=len(population_neutral())),
             rng.normal(size=len(population_neutral())),
             None if i % 4 == 0 else {"AU01": float(i), "closure": 0.25}) for i in range(5000)]
    for r in rows:
        log.add(*r)
    assert log.rows == 5000
    assert (log.face_ids() == [r[0] for r in rows]).all()
    pick = np.array([3, 4096, 4999])
    x, neutral = log.measurements(pick)
    motion = log.motion(pick)
    for k, j in enumerate(pick):
        assert np.allclose(x[k], rows[j][1], atol=1e-6)
        assert np.allclose(neutral[k], rows[j][2], atol=1e-6)
        assert motion[k] == rows[j][3]


@pytest.fixture(scope="module")
def live_reading(wolfgang):
    """WolfgangLanger_Pexels.mp4 read with the streaming neutral only, as live analysis."""
    return tells.analyze_video(wolfgang, stages=default_stages(Settings(), offline=False))


def test_recording_that_opens_sad_reads_its_inner_brows_raised_offline(wolfgang_analysis,
                                                                       live_reading):
    """The video opens on a sad face, eyes cast down (OpenFace 2 reads AU01 1.8-1.9 in frames
    0-2) and later rests with the brows lower. Live analysis takes those first frames as the
    neutral and reads them at rest; the offline reading corrects AU01 from the rest of the
    recording. Units outside the corrected set read exactly as live."""
    off, live = wolfgang_analysis.frames, live_reading.frames
    assert live_reading.run["au_calibration"] == {}
    assert wolfgang_analysis.run["au_calibration"]["0"]["AU01"] > 0.0
    first = off.frame <= 2
    assert (live.loc[first, "AU01_r"] < 1.0).all()
    assert (off.loc[first, "AU01_r"] >= 1.0).all()
    assert (off["AU01_r"] >= live["AU01_r"] - 1e-3).all()  # raised, never lowered
    for c in ("AU04_r", "AU06_r", "AU12_r", "AU45_r", "AU43_r", "happiness", "sadness"):
        assert np.allclose(off[c], live[c], atol=2e-3, equal_nan=True), c
