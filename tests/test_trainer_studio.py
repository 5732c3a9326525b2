"""The posing studio end to end from a recorded video: a person poses the seven expressions
following the studio's script; the studio reads their action units against the neutral face,
gives feedback, keeps neutral and apex, checks the same person and the prototype, records
consent and adds still pairs and clips to a pack.

The recording is made here: a real face at rest (single_face.mp4 frame 0) posing each
emotion by the FACS warp at the script's times, encoded as H.264 and decoded again; during
the surprise hold another person (WolfgangLanger_Pexels.mp4 frame 0) is in front of the
camera, which the same-person check must catch."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import pytest

from tells import analyze_image
from tells.cli.main import main
from tells.facs.synth import synth_face
from tells.io.samples import sample_path
from tells.trainer.emotions import EMOTIONS
from tells.trainer.packs import load_pack
from tells.trainer.sources import read_frames, stimulus_request
from tells.trainer.studio import CLIP_BEFORE_S, MIN_SCORE, feedback, script

TIMES = dict(neutral_s=1.0, relax_s=0.5, hold_s=0.8)
FPS = 10


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    path = tmp_path_factory.mktemp("studio") / "posing.mp4"
    me = read_frames(sample_path("single_face.mp4"), [0])[0]
    other = read_frames(sample_path("WolfgangLanger_Pexels.mp4"), [0])[0]
    faces = {"me": (me, analyze_image(me)[0].landmarks),
             "other": (other, analyze_image(other)[0].landmarks)}
    steps = script(EMOTIONS, **TIMES)
    cache = {}

    def frame_at(t):
        for st in steps[1:]:
            if st.start_s <= t < st.end_s:
                who = "other" if st.emotion == "surprise" else "me"
                level = 2.5 if t - st.start_s < 0.2 else 5.0  # onset, then the apex held
                if (st.emotion, level) not in cache:
                    img, lm = faces[who]
                    cache[st.emotion, level] = synth_face(
                        img, stimulus_request(st.emotion, level), landmarks=lm, appearance=True)
                return cache[st.emotion, level]
        # at rest (the other person at rest during their surprise pause as well)
        nxt = next((st for st in steps[1:] if t < st.start_s), None)
        return other if nxt is not None and nxt.emotion == "surprise" and t > nxt.start_s - 0.3 \
            else me

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(FPS))
        h, w = me.shape[:2]
        stream.width, stream.height, stream.pix_fmt = w, h - h % 2, "yuv420p"
        for k in range(int((steps[-1].end_s + 0.5) * FPS)):
            img = np.ascontiguousarray(frame_at(k / FPS)[: h - h % 2])
            for pkt in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(pkt)
        for pkt in stream.encode():
            out.mux(pkt)
    return path, steps


def test_studio_builds_a_pack_from_a_recorded_posing_video(recording, tmp_path, capfd):
    path, steps = recording
    lib = tmp_path / "lib"
    args = ["train", "studio", str(path), "--library", str(lib), "--pack", "ada",
            "--neutral", str(TIMES["neutral_s"]), "--relax", str(TIMES["relax_s"]),
            "--hold", str(TIMES["hold_s"])]
    # no consent, no studio
    assert main([*args, "--poser", "Ada"]) == 2
    err = [ln for ln in capfd.readouterr().err.splitlines() if ln.startswith("tells")]
    assert len(err) == 1 and "consent" in err[0]
    assert not lib.exists()

    consent = "Ada agreed on 2026-12-01 that these images train the sales team"
    assert main([*args, "--poser", "Ada", "--consent", consent]) == 0
    said = capfd.readouterr().out
    # prompts with FACS instructions, and live feedback on the units asked for
    assert "show sadness: raise the inner ends of your brows (1)" in said
    assert "inner brows rising: AU1 at " in said and "lip corner pulling up: AU12 at " in said
    pack = load_pack(lib / "ada")
    assert pack.source == "studio"
    by = {}
    for it in pack.items:
        by.setdefault(it.emotion, []).append(it)
        assert it.origin["poser"] == "Ada" and it.origin["consent"] == consent
        assert it.aus_source == "studio" and it.face_key.startswith("studio:")
    # surprise was posed by someone else: left out as a different person
    assert sorted(by) == sorted(e for e in EMOTIONS if e != "surprise")
    (problem,) = pack.problems
    assert problem.where == "surprise take" and "different people" in problem.reason
    for emotion, items in by.items():
        still, clip = sorted(items, key=lambda i: bool(i.clip))
        assert not still.clip and clip.clip
        st = next(s for s in steps if s.emotion == emotion)
        # the clip runs from the relaxed face before the prompt at the video's frame times
        t = np.asarray(clip.clip["t_ms"]) / 1000.0
        assert np.allclose(np.diff(t), 1 / FPS, atol=1e-3)
        assert len(t) > clip.clip["apex"] >= round(CLIP_BEFORE_S * FPS)
        assert t[clip.clip["apex"]] <= CLIP_BEFORE_S + st.hold_s + 1e-6
        # accepted when the prototype's units were shown, else waiting for review
        score = still.origin["prototype_score"]
        assert still.status == clip.status == ("accepted" if score >= MIN_SCORE else "pending")
    accepted = {e for e, items in by.items() if items[0].status == "accepted"}
    assert {"happiness", "sadness"} <= accepted and len(accepted) >= 4, \
        {e: items[0].origin["prototype_score"] for e, items in by.items()}


def test_feedback_names_the_units_and_says_more_or_good():
    text = feedback("surprise", {"AU01": 1.2, "AU02": 3.4, "AU05": 0.2, "AU26": 4.6})
    assert text == ("inner brows rising: AU1 at A, more · outer brows rising: AU2 at C, good · "
                    "upper lids rising: AU5 at –, more · jaw dropping: AU26 at E, good")
