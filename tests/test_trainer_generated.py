"""The generated stimulus source: the FACS face warp turns neutral face photos into the seven
emotions at chosen intensities, each pair validated like any other and judged by the
appearance CNN; a smiling photo is refused; errors a user can cause (an unknown emotion, a
photo with no face, a bad intensity) end in one clear line."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_trainer_support import neutral_photos

from tells import analyze_image
from tells.cli.main import main
from tells.errors import InputError
from tells.io.samples import sample_path
from tells.trainer.emotions import EMOTIONS
from tells.trainer.images import read_rgb
from tells.trainer.packs import load_pack
from tells.trainer.sources import build_from_photos, intensities_to_facs, stimulus_request
from tells.trainer.validate import IDENTITY_THRESHOLD, MAX_WARP_RESIDUAL

NO_FACE = "free-mountain-vector-01.jpg"


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """One build from three photos: single_face.jpg (a broad smile), frame 0 of
    WolfgangLanger_Pexels.mp4, and a landscape without a face."""
    root = tmp_path_factory.mktemp("generated")
    photos = [p for p in neutral_photos(root / "photos") if "single_face-frame0" not in p.name]
    pack = build_from_photos([*photos, sample_path(NO_FACE)], "gen", library=root / "lib")
    return load_pack(pack.path), pack.problems, photos  # notes are in the saved manifest


def _changes(item) -> tuple[float, float, float]:
    """Fraction of pixels that change by more than 8 grey levels between neutral and
    expression: inside the neutral face's outline (the hull of its mesh), farther than half
    an eye span outside it, and farther than three quarters of an eye span."""
    n, e = read_rgb(item.neutral), read_rgb(item.expression)
    lm = analyze_image(n)[0].landmarks[:, :2]
    face = np.zeros(n.shape[:2], np.uint8)
    cv2.fillConvexPoly(face, cv2.convexHull(np.round(lm).astype(np.int32)), 1)
    span = float(np.linalg.norm(lm[33] - lm[263]))
    changed = np.abs(n.astype(int) - e.astype(int)).max(axis=2) > 8
    out = [float(changed[face > 0].mean())]
    for f in (0.5, 0.75):
        k = round(f * span)
        far = cv2.dilate(face, np.ones((2 * k + 1, 2 * k + 1), np.uint8)) == 0
        assert far.mean() > 0.01  # the crop leaves room around the face to look at
        out.append(float(changed[far].mean()))
    return tuple(out)


def test_every_emotion_from_each_photo_and_the_no_face_photo_left_out(generated):
    pack, problems, photos = generated
    assert pack.source == "generated"
    smile, still = photos
    assert sorted(i.emotion for i in pack.items) == sorted(EMOTIONS)
    assert {i.origin["photo"] for i in pack.items} == {str(still)}
    # the smile is refused (it would smile through every emotion), the landscape has no face
    assert [(Path(p.where).name, p.reason.split(" (")[0]) for p in problems] == [
        (smile.name, "does not look neutral"), (NO_FACE, "no face found in the photo")]
    assert "(happiness " in problems[0].reason
    for it in pack.items:
        assert it.aus_source == "warp"
        assert it.aus == intensities_to_facs(stimulus_request(it.emotion, 5.0))
        # judged: accepted when the appearance CNN moved towards the emotion, else in review
        verdict = it.origin["judge"]
        assert it.status == ("accepted" if verdict["passed"] else "pending")
        if it.emotion != "contempt":
            assert verdict["passed"] == (verdict["after"] - verdict["before"] >= 0.05)
        assert it.emotion not in it.id  # the image URL must not give the answer away
        # validation passed: same person, registered (the numbers it recorded)
        assert it.origin["identity_distance"] < IDENTITY_THRESHOLD
        assert it.origin["misfit"] < MAX_WARP_RESIDUAL
        assert it.marks and read_rgb(it.neutral).shape == read_rgb(it.expression).shape
    assert sum(it.status == "accepted" for it in pack.items) >= 5
    contempt = next(i for i in pack.items if i.emotion == "contempt")
    assert contempt.aus == "R12E+R14E"
    assert all(len(m["points"]) == 1 for m in contempt.marks)  # one side only


def test_expression_differs_in_the_face_and_not_far_outside(generated):
    pack, _, _ = generated
    for it in pack.items:
        inside, beyond_half, beyond_three_quarters = _changes(it)
        where = (it.emotion, it.origin["photo"])
        assert inside > 0.01, (where, inside)
        # a dropped jaw (fear, surprise) moves the chin a little past the neutral outline
        assert beyond_half < 0.03, (where, beyond_half)
        assert beyond_three_quarters < 0.001, (where, beyond_three_quarters)
    # one neutral image per photo: the flash's neutral frames are the photo itself
    for key in {i.face_key for i in pack.items}:
        neutrals = [read_rgb(i.neutral) for i in pack.items if i.face_key == key]
        assert all(np.array_equal(neutrals[0], n) for n in neutrals[1:])


def test_chosen_intensities_and_emotions_from_a_folder(tmp_path):
    photo = neutral_photos(tmp_path / "photos")[1]  # single_face.mp4 frame 0
    folder = tmp_path / "one"
    folder.mkdir()
    (folder / "face.png").write_bytes(photo.read_bytes())
    (folder / "notes.txt").write_text("not a photo")
    pack = build_from_photos([folder], "levels", library=tmp_path / "lib",
                             intensities=[1, 4], emotions=["surprise", "Happiness"])
    got = sorted((i.emotion, i.origin["intensity"]) for i in pack.items)
    assert got == [("happiness", 1.0), ("happiness", 4.0), ("surprise", 1.0), ("surprise", 4.0)]
    letters = {(i.emotion, i.origin["intensity"]): i.aus for i in pack.items}
    assert letters["happiness", 4.0] == "6B+12D+25C+26B"  # 6C+12E+25D+26B scaled by 4/5
    assert letters["happiness", 1.0] == "6A+12A+25A"  # 26 at 0.4 is below a trace
    change = {(i.emotion, i.origin["intensity"]): _changes(i)[0] for i in pack.items}
    assert change["surprise", 4.0] > change["surprise", 1.0] > 0
    assert change["happiness", 4.0] > change["happiness", 1.0]
    # the full smile is judged happier than the neutral; a trace is not
    verdicts = {(i.emotion, i.origin["intensity"]): i.origin["judge"] for i in pack.items}
    assert verdicts["happiness", 4.0]["passed"]
    assert verdicts["happiness", 4.0]["after"] > verdicts["happiness", 1.0]["after"]


def test_bad_requests_fail_with_one_clear_line(tmp_path):
    lib = tmp_path / "lib"
    with pytest.raises(InputError, match=r"^unknown emotion 'boredom'; expected one of anger, "):
        build_from_photos([sample_path("single_face.jpg")], "x", library=lib,
                          emotions=["fear", "boredom"])
    with pytest.raises(InputError, match=r"intensity 7 is out of range"):
        build_from_photos([sample_path("single_face.jpg")], "x", library=lib, intensities=7)
    with pytest.raises(InputError, match=rf"^no usable generated item \(.*{NO_FACE}: no face "
                                         r"found in the photo\)$"):
        build_from_photos([sample_path(NO_FACE)], "x", library=lib)
    assert not (lib / "x").exists()  # nothing half-built is left behind


def test_cli_builds_from_photos_and_reports_errors_in_one_line(tmp_path, capfd):
    photo = neutral_photos(tmp_path / "photos")[1]  # single_face.mp4 frame 0: neutral is its top emotion
    lib = str(tmp_path / "lib")
    base = ["train", "pack", "build", "--library", lib]
    # a folder holding photos (no <emotion>/<item> folders) is a folder of neutral photos
    folder = tmp_path / "faces"
    folder.mkdir()
    (folder / photo.name).write_bytes(photo.read_bytes())
    assert main([*base, str(folder), "--emotion", "anger,contempt",
                 "--name", "cli", "--json"]) == 0
    summary = json.loads(capfd.readouterr().out)
    assert summary["source"] == "generated"
    assert sum(summary["counts"].values()) == 2
    assert summary["problems"] == [] and summary["notes"] == []
    assert sorted(i.emotion for i in load_pack(summary["path"]).items) == ["anger", "contempt"]
    # the judge's figures for the pack
    assert main(["train", "pack", "judge", "cli", "--library", lib, "--sheets",
                 str(tmp_path / "sheets"), "--json"]) == 0
    rep = json.loads(capfd.readouterr().out)
    assert rep["cnn_items"] == 1 and rep["contempt_items"] == 1
    assert [e["emotion"] for e in rep["per_emotion"]] == ["anger", "contempt"]
    assert len(rep["sheets"]) == 1 and read_rgb(rep["sheets"][0]).shape[1] == 3 * 240
    for args, message in [
        (["--emotion", "boredom"], "unknown emotion 'boredom'"),
        (["--intensity", "two"], "--intensity takes numbers"),
        ([str(tmp_path / "empty"), "--from", "photos"], "no photos in this folder"),
        ([str(sample_path(NO_FACE))], "no face found in the photo"),
    ]:
        (tmp_path / "empty").mkdir(exist_ok=True)
        source = [] if args[0].endswith((".jpg", "empty")) else [str(photo)]
        assert main([*base, *source, *args, "--name", "bad", "-q"]) == 2
        err = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("tells")]
        assert len(err) == 1 and message in err[0], err
