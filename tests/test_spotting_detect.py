"""Spotting on hand-made signals and on a real video with injected expressions."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from conftest import run_cli

from tells.contract import AU_NUMBERS
from tells.spotting.evaluate import evaluate_spotting
from tells.spotting.regions import REGIONS
from tells.spotting.spot import (
    SpotParams,
    au_code,
    deformation_signal,
    find_candidates,
    mouth_cycles,
    rolling_percentile,
    spot_face,
)


def _bump(n, start, length, height):
    x = np.zeros(n)
    k = np.arange(length)
    x[start:start + length] = height * np.sin(np.pi * (k + 0.5) / length) ** 2
    return x


def test_one_bump_gives_its_onset_apex_offset():
    sig = _bump(200, 50, 21, 4.0)  # rises from frame 50, peaks at 60, back to zero by 70
    found = find_candidates(sig, SpotParams(threshold=1.0, edge=0.1))
    assert len(found) == 1
    on, apex, off, peak = found[0]
    assert apex == 60 and peak == pytest.approx(4.0, rel=0.01)
    # 10 % of the peak is reached about 2 frames in from either end of the bump
    assert 50 <= on <= 53 and 67 <= off <= 70


def test_below_threshold_and_two_bumps():
    weak = _bump(200, 50, 21, 0.8)
    assert find_candidates(weak, SpotParams(threshold=1.0)) == []
    two = _bump(300, 40, 15, 2.0) + _bump(300, 150, 61, 3.0)
    found = find_candidates(two, SpotParams(threshold=1.0))
    assert [f[1] for f in found] == [47, 180]


def test_a_slow_expression_that_dips_and_rises_again_is_one_whole_candidate():
    """A change that rises, dips and rises again before it ends (a held smile) while staying
    above half the threshold: its offset is where it ends, not at the dip."""
    sig = _bump(300, 50, 41, 4.0) + _bump(300, 78, 41, 3.6)  # humps at 70 and 98
    assert sig[70:99].min() > 1.5  # dips to about 1.7, above half the threshold (0.5)
    found = find_candidates(sig, SpotParams(threshold=1.0, edge=0.1))
    assert len(found) == 1
    on, apex, off, _ = found[0]
    # the second hump ends at 118; 10 % of the peak is reached a few frames before
    assert apex == 70 and 50 <= on <= 54 and 110 <= off <= 118
    # two changes with calm between them stay two
    two = _bump(300, 50, 41, 4.0) + _bump(300, 110, 41, 3.6)
    assert [f[1] for f in find_candidates(two, SpotParams(threshold=1.0, edge=0.1))] == [70, 130]


def test_mouth_cycles_counts_talking_not_one_opening():
    t = np.linspace(0, 2, 60)
    talking = 1.0 + np.sin(2 * np.pi * 2 * t)  # two open-close cycles a second, swing 2
    assert mouth_cycles(talking, 0.5) == 4
    one_open = _bump(60, 10, 30, 3.0)
    assert mouth_cycles(one_open, 0.5) == 1
    assert mouth_cycles(np.zeros(60), 0.5) == 0


def test_au_code_letters_and_sides():
    lr = {12: (0.0, 1.1), 14: (0.1, 1.0)}
    assert au_code({"AU12": 0.55, "AU14": 0.5}, lr, 0.75) == "R12A+R14A"
    delta = {"AU01": 2.2, "AU02": 1.9, "AU05": 1.6, "AU26": 2.6, "AU04": 0.3}
    assert au_code(delta, {12: (0, 0), 14: (0, 0)}, 0.75) == "1B+2B+5B+26C"


def test_rolling_percentile_equals_scipys_percentile_filter():
    """The spotter's baseline filter gives exactly what
    ``percentile_filter(x, q, size=(size, 1), mode="nearest")`` gives, on random tables with
    ties, edges (windows longer than the table, as ``min(window, rows) | 1`` makes them) and
    both float widths; NaN goes to SciPy's own N-D filter."""
    from scipy.ndimage import percentile_filter

    rng = np.random.default_rng(13)
    for case in range(300):
        n, c = int(rng.integers(1, 600)), int(rng.integers(1, 30))
        kind = case % 3
        x = (rng.normal(size=(n, c)) if kind == 0
             else rng.integers(-3, 4, (n, c)).astype(float) if kind == 1  # many ties
             else np.cumsum(rng.normal(size=(n, c)), axis=0))  # drifting, as positions do
        if case % 2:
            x = x.astype(np.float32)
        size = int(rng.integers(1, 700))
        if case % 4 < 2:
            size = min(size, n) | 1
        q = [50.0, 20.0, 0.0, 100.0, float(rng.uniform(0, 100))][case % 5]
        want = percentile_filter(x, q, size=(size, 1), mode="nearest")
        got = rolling_percentile(x, q, size)
        assert got.dtype == want.dtype and got.shape == want.shape, (case, n, c, size, q)
        assert np.array_equal(got, want), (case, n, c, size, q)
    x = rng.normal(size=(50, 4))
    x[7, 2] = np.nan
    want = percentile_filter(x, 50, size=(21, 1), mode="nearest")
    assert np.array_equal(rolling_percentile(x, 50, 21), want, equal_nan=True)


def test_deformation_signal_finds_the_moving_region():
    rng = np.random.default_rng(0)
    n, r = 400, len(REGIONS)
    pos = rng.normal(0, 0.003, (n, r, 2))  # landmark jitter
    k = REGIONS.index("mouth_left")
    pos[200:210, k, 1] -= _bump(400, 200, 10, 0.05)[200:210]  # a corner rises for 10 frames
    t = np.arange(n) / 30
    sig = deformation_signal(pos, t, SpotParams())
    assert 200 <= int(np.argmax(sig)) < 210
    assert sig.max() > 6 and np.median(sig) < 2


def _flash_rows(aus: dict[str, float], n: int = 120, start: int = 60, length: int = 10):
    """A still face whose mouth region moves for ``length`` frames while the given AU
    intensities (``AU45_r`` etc., their peaks) rise and fall with it: the frame table and
    region positions spot_face reads."""
    rng = np.random.default_rng(1)
    pos = rng.normal(0, 0.003, (n, len(REGIONS), 2))
    k = REGIONS.index("mouth_left")
    pos[start:start + length, k, 1] += _bump(n, start, length, 0.2)[start:start + length]
    rows = {"timestamp": np.arange(n) / 30, "pose_Rx": 0.0, "pose_Ry": 0.0, "pose_Rz": 0.0,
            "q_pose": 0, "q_blur": 0, "q_partial": 0}
    for m in AU_NUMBERS:
        rows[f"AU{m:02d}_r"] = np.zeros(n)
    for m in (12, 14):
        rows[f"AU{m}L_r"] = rows[f"AU{m}R_r"] = np.zeros(n)
    face = pd.DataFrame(rows)
    shape = _bump(n, start, length, 1.0)  # the units rise and fall with the movement
    for col, v in aus.items():
        face[col] = v * shape
    return face, pos


def _reasons(aus):
    face, pos = _flash_rows(aus)
    cands, _ = spot_face(face, pos, SpotParams(), 0)
    flash = [c for c in cands if 55 <= c.apex <= 72]
    assert len(flash) == 1, [(c.apex, c.reason) for c in cands]
    return flash[0].reason


def test_a_blink_is_left_out_but_widened_eyes_and_an_opened_mouth_are_not():
    # the lids close: a blink, however much the face around the eyes moved
    assert _reasons({"AU45_r": 3.0}) == "blink"
    # the lids widen with the lips parted (a flash of surprise whose brows barely rose)
    assert _reasons({"AU05_r": 1.2, "AU25_r": 2.0}) == ""
    # widened eyes alone are not a blink either
    assert _reasons({"AU05_r": 1.2}) == ""


def test_a_weak_expression_no_unit_reads_at_a_is_kept_unless_the_lids_close():
    # the face moved past the threshold while every unit read below A but rose by a trace (a
    # third of a posed expression): an expression, short as a blink but without the lids
    assert _reasons({"AU04_r": 0.5, "AU15_r": 0.4}) == ""
    assert _reasons({"AU12R_r": 0.3}) == ""
    assert _reasons({"AU15_r": 0.15}) == ""  # a third of a weak posed sadness
    # the same with the lids closing by a trace: a blink
    assert _reasons({"AU45_r": 0.5, "AU04_r": 0.5}) == "blink"
    # no unit rose at all (the mesh settling after a cut), or by less than a trace: no
    # expression
    assert _reasons({}) == "no expressive action unit"
    assert _reasons({"AU04_r": 0.05}) == "no expressive action unit"


def test_one_frame_of_jitter_at_the_onset_or_apex_is_not_a_change():
    # a smile flashes while the brow lowerer is held at C throughout, but reads 0 on the one
    # frame before the onset, and the chin raiser jumps to E on the apex frame alone (the
    # per-frame jitter of skin motion read under a hand): neither rose
    face, pos = _flash_rows({"AU12_r": 3.0, "AU12L_r": 3.0, "AU12R_r": 3.0})
    cands, _ = spot_face(face, pos, SpotParams(), 0)
    (c,) = [c for c in cands if 55 <= c.apex <= 72]
    held = np.full(len(face), 3.0)
    on = c.onset
    held[on - 1] = 0.0
    spike = np.zeros(len(face))
    spike[c.apex] = 5.0
    face["AU04_r"], face["AU17_r"] = held, spike
    (again,) = [a for a in spot_face(face, pos, SpotParams(), 0)[0] if 55 <= a.apex <= 72]
    assert (again.onset, again.apex) == (c.onset, c.apex)
    assert again.aus["AU12"] >= 2.0
    assert abs(again.aus["AU04"]) < 0.5 and abs(again.aus["AU17"]) < 0.5
    code = au_code(again.aus, {n: (again.aus[f"AU{n}L"], again.aus[f"AU{n}R"]) for n in (12, 14)},
                   SpotParams().active)
    assert "12" in code and "4" not in code.replace("14", "") and "17" not in code


def _au_rows(n: int, levels: dict[str, np.ndarray]) -> pd.DataFrame:
    rows = {"timestamp": np.arange(n) / 30, "pose_Rx": 0.0, "pose_Ry": 0.0, "pose_Rz": 0.0,
            "q_pose": 0, "q_blur": 0, "q_partial": 0}
    for m in AU_NUMBERS:
        rows[f"AU{m:02d}_r"] = levels.get(f"AU{m:02d}_r", np.zeros(n))
    for m in (12, 14):
        rows[f"AU{m}L_r"] = rows[f"AU{m}R_r"] = levels.get(f"AU{m:02d}_r", np.zeros(n))
    return pd.DataFrame(rows)


def test_an_expression_after_chatter_is_cut_to_its_core_not_left_out_as_held():
    """A 3 s smile right after 2 s of small movements above half the threshold: their run is
    5 s long, but the smile is kept, with its own onset; a smile held 5 s is still held."""
    n = 600
    ramp = np.minimum(1.0, np.minimum(np.arange(90), np.arange(90)[::-1]) / 3.0)
    smile = np.zeros(n)
    smile[360:450] = 3.0 * ramp  # 12.0-15.0 s
    chatter = np.zeros(n)
    chatter[300:362] = 0.7  # 10.0-12.07 s, above half the threshold (0.5), below it
    p = SpotParams()
    cands, t = spot_face(_au_rows(n, {"AU12_r": smile, "AU10_r": chatter}), None, p, 0)
    kept = [c for c in cands if not c.reason]
    assert len(kept) == 1, [(t[c.onset], t[c.offset], c.reason) for c in cands]
    c = kept[0]
    assert 11.8 <= t[c.onset] <= 12.1 and 14.9 <= t[c.offset] <= 15.1
    assert c.aus["AU12"] >= 2.5
    held = np.zeros(n)
    held[300:450] = 3.0 * np.minimum(1.0, np.minimum(np.arange(150), np.arange(150)[::-1]) / 3)
    cands, _ = spot_face(_au_rows(n, {"AU12_r": held}), None, p, 0)
    assert [c.reason for c in cands] == ["too long (held expression)"]


def test_a_macro_expression_filling_half_a_short_clip_is_spotted_whole():
    """1.5 s at rest, a smile eased in over 0.25 s, held 3 s, eased out, 1 s at rest (the
    clips of `tells eval flashes --variant macro --hold 3`): the smile is more than half of
    the clip, so a median baseline over the clip would be the smile itself; read from the
    calm rows, the smile is one candidate from its onset to its offset."""
    fps, n = 30, 180
    on, ease, hold = 45, 8, 90
    shape = np.zeros(n)
    shape[on:on + ease] = np.arange(1, ease + 1) / ease
    shape[on + ease:on + ease + hold] = 1.0
    shape[on + ease + hold:on + 2 * ease + hold] = np.arange(ease, 0, -1) / ease
    rng = np.random.default_rng(1)
    pos = rng.normal(0, 0.003, (n, len(REGIONS), 2))
    for region in ("mouth_left", "mouth_right"):
        pos[:, REGIONS.index(region), 1] -= 0.05 * shape
    face = _au_rows(n, {"AU12_r": 3.0 * shape, "AU06_r": 1.5 * shape})
    face["timestamp"] = np.arange(n) / fps
    cands, t = spot_face(face, pos, SpotParams(), 0)
    kept = [c for c in cands if not c.reason]
    assert len(kept) == 1, [(t[c.onset], t[c.offset], c.reason) for c in cands]
    c = kept[0]
    truth = (on / fps, (on + 2 * ease + hold - 1) / fps)
    inter = min(t[c.offset], truth[1]) - max(t[c.onset], truth[0])
    union = max(t[c.offset], truth[1]) - min(t[c.onset], truth[0])
    assert inter / union >= 0.8
    assert c.aus["AU12"] >= 1.5


def test_an_opened_mouth_alone_counts_only_when_the_change_is_large():
    face, pos = _flash_rows({"AU25_r": 2.0})
    p = SpotParams()
    big = [c for c in spot_face(face, pos, p, 0)[0] if 55 <= c.apex <= 72]
    assert [c.reason for c in big] == [""]
    assert big[0].peak >= p.mouth_only_factor * p.deform_threshold
    strict = SpotParams(mouth_only_factor=big[0].peak / p.deform_threshold + 1)
    assert [c.reason for c in spot_face(face, pos, strict, 0)[0]
            if 55 <= c.apex <= 72] == ["no expressive action unit"]


@pytest.mark.slow
def test_injected_expressions_are_spotted_in_real_video(tmp_path):
    """A calm stretch of a real video with injected expressions (B–D) and distractors."""
    from tells.io.samples import sample_path

    video, truth_csv = tmp_path / "synth.mp4", tmp_path / "truth.csv"
    p = run_cli("synth", str(sample_path("single_face.mp4")), "-o", str(video), "--truth",
                str(truth_csv), "--seconds", "24", "--segment", "0,0.5", "--rate", "10",
                "--seed", "3", "-q")
    assert p.returncode == 0, p.stderr
    truth = pd.read_csv(truth_csv)
    assert len(truth) >= 3 and set(truth["kind"]) == {"micro", "macro"}
    assert set(truth["emotion"]) <= {"anger", "contempt", "disgust", "fear", "happiness",
                                     "sadness", "surprise"}
    out = tmp_path / "out"
    p = run_cli("analyze", str(video), "-o", str(out), "-q", "--no-report")
    assert p.returncode == 0, p.stderr
    pred = pd.read_csv(out / "events.csv")
    truth["video"] = pred["video"] = "v"
    res = evaluate_spotting(truth, pred)
    assert res.overall.tp >= len(truth) - 1  # at most one injected expression missed
    assert res.overall.fp <= 1  # blinks and head movements are not reported
    for col in ("onset_frame", "apex_frame", "offset_frame", "aus", "emotion", "confidence",
                "displayed_emotion", "leakage"):
        assert col in pred
    assert (pred["onset_frame"] <= pred["apex_frame"]).all()
    assert (pred["apex_frame"] <= pred["offset_frame"]).all()
    assert pred["confidence"].between(0, 1).all()


def test_poor_quality_rows_count_from_onset_to_offset_inclusive():
    """An event's confidence falls with the share of its rows (onset to offset, both ends
    included) flagged for pose, blur or a partly visible face; a flag just outside does not
    count, and an event flagged on most rows is left out."""
    from tells.spotting.events import detect_events

    face, pos = _flash_rows({"AU12_r": 2.0})
    n = len(face)
    face = face.assign(frame=np.arange(n), face_id=0, success=1)
    motion = {0: (np.arange(n), pos.reshape(n, -1))}
    (c,) = [c for c in spot_face(face, pos, SpotParams(), 0)[0] if 55 <= c.apex <= 72]
    assert c.reason == ""
    k = c.offset - c.onset + 1

    def confidence(flagged):
        f = face.copy()
        f.loc[flagged, "q_blur"] = 1
        ev, _ = detect_events(f, motion.get)
        return ev["confidence"].tolist()

    (clean,) = confidence([])
    assert confidence([c.onset - 1, c.offset + 1]) == [clean]
    for edge in (c.onset, c.offset):
        (got,) = confidence([edge])
        assert got == pytest.approx(clean * (1 - 0.5 / k), abs=2e-3), (edge, k)

    def reason(flagged):
        f = face.copy()
        f.loc[flagged, "q_pose"] = 1
        return [x.reason for x in spot_face(f, pos, SpotParams(), 0)[0] if 55 <= x.apex <= 72]

    most = k // 2 + 1  # the fewest rows that are more than half of the event's
    assert reason(list(range(c.offset - most + 1, c.offset + 1))) == ["poor tracking quality"]
    assert reason(list(range(c.onset, c.onset + most))) == ["poor tracking quality"]
    # one row fewer inside, however many flagged just outside: kept
    inside = list(range(c.offset - most + 2, c.offset + 1))
    assert reason(inside + [c.onset - 2, c.onset - 1, c.offset + 1, c.offset + 2]) == [""]


def test_frame_table_rows_from_a_start_are_the_tail_of_the_whole_table(monkeypatch):
    """``FrameTable.to_frame(start)`` (what the live spotter reads on every detection) gives
    ``to_frame().iloc[start:]`` with the index from 0: same values, dtypes and columns, over
    block edges, missing values and starts past the end."""
    import tells.io.table as table

    rng = np.random.default_rng(5)
    cols = ["frame", "face_id", "success", "timestamp", "x", "q_pose", "AU01_r"]
    for block in (table._BLOCK, 7, 1):
        monkeypatch.setattr(table, "_BLOCK", block)
        for _ in range(8):
            t = table.FrameTable(cols)
            n = int(rng.integers(0, 30 if block < 100 else 5000))
            for i in range(n):
                row = {c: float(rng.normal()) for c in cols}
                row.update(frame=i, face_id=int(rng.integers(0, 3)), success=1,
                           q_pose=int(rng.integers(0, 2)))
                if rng.random() < 0.2:
                    del row["x"], row["face_id"]
                t.append(row)
            whole = pd.DataFrame(np.concatenate(t._blocks)[:n] if t._blocks
                                 else np.empty((0, len(cols))), columns=cols)
            for c in ("frame", "face_id", "success", "q_pose"):
                whole[c] = whole[c].fillna(-1 if c == "face_id" else 0).astype(np.int64)
            for start in {0, 1, n // 3, n - 1, n, n + 5, int(rng.integers(0, n + 1))}:
                want = whole.iloc[max(start, 0):].reset_index(drop=True)
                pd.testing.assert_frame_equal(t.to_frame(start), want, check_exact=True)


def test_light_changed_reads_the_whole_face_and_one_side_against_the_other():
    from tells.spotting.spot import light_changed

    p = SpotParams()
    steady = np.tile([100.0, 110.0], (40, 1))
    assert not light_changed(steady, 20, 30, 3, p)
    brighter = steady.copy()
    brighter[25:31] *= 1.6  # the whole face 60 % brighter (log 0.47): a room light
    assert light_changed(brighter, 20, 30, 3, p)
    assert not light_changed(brighter, 20, 24, 3, p)  # not up to the apex
    side = steady.copy()
    side[25:31, 0] *= 1.55  # one side brighter, the other darker: whole face about level
    side[25:31, 1] *= 0.65
    assert abs(np.log(side[28].mean() / steady[28].mean())) < 0.1
    assert light_changed(side, 20, 30, 3, p)
    slight = steady.copy()
    slight[25:31, 0] *= 1.3  # a hand or a turn shading a side: an expression stays
    slight[25:31, 1] *= 0.8
    assert not light_changed(slight, 20, 30, 3, p)
    unknown = brighter.copy()
    unknown[:21] = 0.0  # no crop before the onset: nothing to compare with
    assert not light_changed(unknown, 20, 30, 3, p)


def _lamp_video(path, strength: float):
    """5 s at 30 fps of the sample photo single_face.jpg, a lamp lighting the image's right
    side and shading its left from 2.0 to 2.8 s (eased over 0.15 s)."""
    import cv2

    from tells.io.image import read_image
    from tells.io.samples import sample_path
    from tells.spotting.flashes import Clip, write_clip

    img = read_image(sample_path("single_face.jpg"))
    h, w = img.shape[:2]
    s = 480 / max(h, w)
    img = cv2.resize(img, (int(w * s) // 2 * 2, int(h * s) // 2 * 2)).astype(np.float32)
    w = img.shape[1]
    ramp = np.clip((np.arange(w) - 0.4 * w) / (0.3 * w), 0, 1)[None, :, None]
    frames = []
    for k in range(150):
        t = k / 30
        a = float(np.clip(min(t - 2.0, 2.8 - t) / 0.15, 0, 1)) if 2.0 <= t <= 2.8 else 0.0
        gain = 1 + strength * a * (ramp - 0.6 * (1 - ramp))
        frames.append(np.clip(img * gain, 0, 255).astype(np.uint8))
    return write_clip(Clip(frames, 30, 2.0, 2.4, 2.8, 72), path)


def test_a_lamp_lighting_one_side_of_a_real_face_is_not_an_expression(tmp_path):
    """A still face lit from one side for 0.8 s moves the mesh's mouth as a lip pressor
    would (without the lighting check it was reported as 24A); it is left out as a
    lighting change, and the same face without the lamp gives no candidate at all."""
    import json

    for strength, expect in ((1.2, {"lighting change": 1}), (0.0, {})):
        video = _lamp_video(tmp_path / f"lamp{strength}.mp4", strength)
        out = tmp_path / f"out{strength}"
        p = run_cli("analyze", str(video), "-o", str(out), "-q", "--no-report")
        assert p.returncode == 0, p.stderr
        assert pd.read_csv(out / "events.csv").empty
        left = json.load(open(out / "run.json"))["events"]["left_out"]
        left.pop("at the start of the face's track (onset not seen)", None)
        assert left == expect, strength
