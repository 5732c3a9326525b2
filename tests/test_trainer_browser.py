"""The trainer in real headless Chromium, on a pack the face warp generated: a whole short
session done by keyboard, with the answers and scores stored and shown, and the flash
durations measured on screen."""

from __future__ import annotations

import csv
import io
import json
import os
import queue
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from browser import browser_page
from sqlalchemy import select
from sqlalchemy.orm import Session
from test_trainer_support import neutral_photos, running_server

from tells.cli.main import main
from tells.trainer.db import Answer, TrainingSession
from tells.trainer.emotions import EMOTIONS
from tells.trainer.packs import load_pack
from tells.trainer.session import SessionConfig
from tells.trainer.sources import build_from_photos

pytestmark = pytest.mark.browser

#: set to a folder to keep the screenshots the tests take
SHOTS = os.environ.get("TELLS_TRAINER_SCREENSHOTS")


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A generated pack: the face warp on the sample photos (two faces at rest, so pre- and
    post-test faces can differ; the smiling photo is refused), all seven emotions, every item
    accepted (this tests the session, not the judge)."""
    root = tmp_path_factory.mktemp("trainer")
    pack = build_from_photos(neutral_photos(root / "photos"), "generated", library=root / "lib",
                             judge=False)
    truth = {it.key: it.emotion for it in load_pack(pack.path).items}
    assert len(truth) == 14
    return root / "lib", truth


def shot(page, name: str, tmp_path: Path) -> Path:
    p = tmp_path / f"{name}.png"
    page.screenshot(path=str(p))
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, Path(SHOTS) / p.name)
    return p


def wait_step(page, index: int) -> str:
    page.wait_for_selector(f'#app[data-step="{index}"]', timeout=15_000)
    return page.get_attribute("#app", "data-view")


def key_for(emotion: str) -> str:
    return str(EMOTIONS.index(emotion) + 1)


def wrong_for(emotion: str) -> str:
    return EMOTIONS[(EMOTIONS.index(emotion) + 3) % len(EMOTIONS)]


def test_whole_short_session_by_keyboard(library, tmp_path):
    lib, truth = library
    cfg = SessionConfig(test_items_per_emotion=1, practice_per_emotion=1, neutral_before_ms=300)
    db = tmp_path / "trainer.db"
    pressed: list[tuple[str, str, str]] = []  # (phase, shown emotion, answered emotion)
    shots = {}
    with running_server(db, lib, cfg) as (srv, trainer), browser_page() as (page, errors):
        page.goto(srv.url)
        page.wait_for_selector("#trainee")
        assert "not proof of deception" in page.inner_text("body")
        page.fill("#trainee", "Ada")
        page.keyboard.press("Enter")
        index, wrong_practice_done = 0, False
        while True:
            view = wait_step(page, index)
            if view == "report":
                break
            if view == "lesson":
                page.wait_for_selector("#lesson-title")
                if "lesson" not in shots:
                    page.wait_for_function("[...document.images].every(i => i.complete)")
                    shots["lesson"] = shot(page, "lesson", tmp_path)
                page.keyboard.press("Enter")
                index += 1
                continue
            page.wait_for_selector("#answers[data-ready]", timeout=15_000)
            phase = page.get_attribute("#stage", "data-phase")
            shown = truth[page.get_attribute("#stage", "data-item")]
            # pre-test: every other answer wrong; practice: the first wrong; post-test: right
            if phase == "pretest":
                answer = shown if len(pressed) % 2 else wrong_for(shown)
            elif phase == "practice" and not wrong_practice_done:
                answer, wrong_practice_done = wrong_for(shown), True
            else:
                answer = shown
            page.keyboard.press(key_for(answer))
            pressed.append((phase, shown, answer))
            if phase == "practice":
                page.wait_for_selector("#feedback[data-shown]")
                if answer != shown and "feedback" not in shots:
                    page.wait_for_selector("svg circle")  # the action units drawn on the face
                    fb = page.inner_text("#feedback")
                    assert f"It was {shown}, not {answer}" in fb
                    shots["feedback"] = shot(page, "feedback", tmp_path)
                elif answer == shown:
                    assert f"Correct: {shown}" in page.inner_text("#feedback")
                page.keyboard.press("Enter")
            index += 1
        page.wait_for_selector("#report-title")
        shots["report"] = shot(page, "report", tmp_path)
        report_text = page.inner_text("#app")
        per_emotion = {e: page.inner_text(f'#per-emotion tr[data-emotion="{e}"]') for e in EMOTIONS}
        page.goto(srv.url + "progress")
        page.wait_for_selector('.trainee[data-trainee="Ada"] tr[data-session]')
        progress_text = page.inner_text('.trainee[data-trainee="Ada"]')
        assert errors == []

    # 7 emotions x (1 pre-test + 1 practice + 1 post-test)
    assert [p for p, _, _ in pressed].count("pretest") == 7
    assert [p for p, _, _ in pressed].count("practice") == 7
    assert [p for p, _, _ in pressed].count("posttest") == 7
    assert shots.keys() == {"lesson", "feedback", "report"}

    with Session(trainer.engine) as s:
        sess = s.scalars(select(TrainingSession)).one()
        rows = s.scalars(select(Answer).order_by(Answer.trial_index)).all()
        assert sess.finished_at is not None and sess.trainee.name == "Ada"
        assert [(a.phase, a.emotion, a.answer) for a in rows] == pressed
        assert all(a.correct == (a.emotion == a.answer) for a in rows)
        assert all(a.input_method == "key" and a.reaction_ms > 0 for a in rows)
        assert all(abs(a.measured_ms - a.set_ms) <= a.frame_period_ms for a in rows)
        assert all(1 <= a.flash_attempts <= 3 for a in rows)

    def acc(phase):
        sel = [(e, a) for p, e, a in pressed if p == phase]
        return round(100 * sum(e == a for e, a in sel) / len(sel))

    pre, post = acc("pretest"), acc("posttest")
    assert post == 100 and pre < 100
    assert page_pct(report_text, "Pre-test") == pre
    assert page_pct(report_text, "Post-test") == post
    for e in EMOTIONS:
        pre_e = [a for p, s_, a in pressed if p == "pretest" and s_ == e]
        assert f"({sum(a == e for a in pre_e)}/{len(pre_e)})" in per_emotion[e]
    assert f"{pre}%" in progress_text and f"{post}%" in progress_text

    # tells train export writes the same answers
    out = tmp_path / "answers.csv"
    assert main(["train", "export", "--db", str(db), "--library", str(lib), "-o", str(out)]) == 0
    exported = list(csv.DictReader(io.StringIO(out.read_text())))
    assert [(r["phase"], r["emotion"], r["answer"]) for r in exported] == pressed
    assert {r["trainee"] for r in exported} == {"Ada"}


def page_pct(text: str, label: str) -> int:
    after = text.split(label, 1)[1].strip().splitlines()[0]
    return int(after.rstrip("%"))


#: reads what the canvas shows at every animation frame, cheaply (a 16x16 downscale) so the
#: sampling itself does not make the renderer miss frames
SAMPLER = """
() => {
  window.__samples = [];
  const small = document.createElement('canvas');
  small.width = small.height = 16;
  const sctx = small.getContext('2d', { willReadFrequently: true });
  function tick() {
    const c = document.getElementById('stage-canvas');
    if (c) {
      sctx.drawImage(c, 0, 0, 16, 16);
      const d = sctx.getImageData(0, 0, 16, 16).data;
      let sum = 0, lit = 0;
      for (let i = 0; i < d.length; i += 4) { sum = (sum * 31 + d[i] + 7 * d[i + 1] + 13 * d[i + 2]) % 1000000007; lit += d[i] + d[i + 1] + d[i + 2]; }
      window.__samples.push([sum, lit, c.dataset.showing || '']);
    }
    requestAnimationFrame(tick);
  }
  requestAnimationFrame(tick);
}
"""


@pytest.mark.parametrize("set_ms", [40, 100, 500])
def test_flash_duration_measured_within_one_frame(library, tmp_path, set_ms):
    lib, truth = library
    # a second of neutral before each flash: time for the test to install its frame sampler
    # (and, at 500 ms, to catch the expression for the screenshot) on a loaded machine
    cfg = SessionConfig(emotions=("anger", "fear"), test_items_per_emotion=1,
                        practice_per_emotion=0, lessons=False, test_ms=float(set_ms),
                        neutral_before_ms=1000)
    with running_server(tmp_path / "t.db", lib, cfg) as (srv, trainer), browser_page() as (page, errors):
        page.goto(srv.url)
        page.wait_for_selector("#trainee")
        period = float(page.get_attribute("body", "data-frame-period"))
        page.fill("#trainee", "Flash")
        page.keyboard.press("Enter")
        sequences = []
        for index in range(4):
            wait_step(page, index)
            page.wait_for_selector("#stage[data-ready]")
            if index == 0:
                page.evaluate(SAMPLER)
            else:
                page.evaluate("() => { window.__samples.length = 0; }")
            if set_ms == 500 and index == 0:
                page.wait_for_selector('#stage-canvas[data-showing="expression"]')
                shot(page, "flash", tmp_path)
            page.wait_for_selector("#answers[data-ready]")
            page.wait_for_timeout(100)
            sequences.append(page.evaluate("() => window.__samples.slice()"))
            shown = truth[page.get_attribute("#stage", "data-item")]
            page.keyboard.press(key_for(shown))
        wait_step(page, 4)
        assert errors == []
    with Session(trainer.engine) as s:
        rows = s.scalars(select(Answer).order_by(Answer.trial_index)).all()
    assert len(rows) == 4
    # headless Chromium paces requestAnimationFrame at about 60 Hz
    assert 15.0 < period < 18.5
    for a, samples in zip(rows, sequences, strict=True):
        assert a.set_ms == set_ms
        assert abs(a.measured_ms - set_ms) <= a.frame_period_ms, (a.measured_ms, set_ms)
        # what was on the canvas, frame by frame: never blank, neutral -> expression -> neutral
        # (repeated as a whole when a flash missed its duration by more than a frame)
        states = [s for s in samples if s[2]]
        assert states and all(lit > 0 for _, lit, _ in states)
        runs: list[list] = []  # [checksum, frames]
        for checksum, _, _ in states:
            if runs and runs[-1][0] == checksum:
                runs[-1][1] += 1
            else:
                runs.append([checksum, 1])
        neutral, expression = runs[0][0], runs[1][0]
        assert neutral != expression
        assert [c for c, _ in runs] == [neutral, expression] * a.flash_attempts + [neutral]
        assert runs[-2][1] == a.measured_frames
        assert 1 <= a.flash_attempts <= 3


def test_fresh_install_reaches_the_first_flash(tmp_path):
    """``tells train`` on an empty library builds the starter pack from the sample media and
    serves it on loopback: a new trainee reaches the first flash with no other command."""
    from tells.trainer.packs import load_pack
    from tells.trainer.starter import STARTER_PACK

    lib = tmp_path / "lib"
    cmd = [sys.executable, "-m", "tells", "train", "--no-browser", "--port", "0",
           "--library", str(lib), "--db", str(tmp_path / "t.db")]
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(ln) for ln in proc.stderr], daemon=True).start()
    said = []
    try:
        url = None
        while url is None:
            line = lines.get(timeout=300)
            said.append(line)
            if line.startswith("tells trainer on "):
                url = line.split()[3]
        assert url.startswith("http://127.0.0.1:")
        assert any("building the starter pack" in ln for ln in said), said
        import urllib.request

        state = json.load(urllib.request.urlopen(url + "api/state"))
        assert state["trainees"] == [] and [p["name"] for p in state["packs"]] == [STARTER_PACK]
        pack = load_pack(lib / STARTER_PACK)
        assert pack.source == "starter" and pack.counts()["accepted"] >= 7
        assert len({it.face_key for it in pack.items}) == 2  # two people at rest
        with browser_page() as (page, errors):
            page.goto(url)
            page.wait_for_selector("#trainee")
            page.fill("#trainee", "New")
            page.keyboard.press("Enter")
            # the answer keys unlock once the flash has been shown and timed
            page.wait_for_selector("#answers[data-ready]", timeout=30_000)
            assert page.get_attribute("#stage", "data-item").startswith(STARTER_PACK + "/")
            assert page.get_attribute("#stage-canvas", "data-showing") == "neutral-after"
            flash_ms = float(page.get_attribute("#stage", "data-measured-ms"))
            period = float(page.get_attribute("body", "data-frame-period"))
            assert abs(flash_ms - 200) <= period  # the pre-test's 200 ms flash
            assert errors == []
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def test_video_clip_plays_every_frame_within_one_display_frame(tmp_path):
    """A clip item (real video frames with their own presentation times) is played at true
    speed: each frame appears at the first display frame at or after its time, measured from
    requestAnimationFrame timestamps, and the canvas shows the clip's frames in order."""
    from tells.io.samples import sample_path
    from tells.trainer.clips import add_clip, read_span
    from tells.trainer.packs import new_pack

    frames = read_span(sample_path("single_face.mp4"), 0.8, 1.25)  # the smile's onset
    pack = new_pack(tmp_path / "lib", "clips", "studio")
    item = add_clip(pack, frames, len(frames) - 1, name="smile", emotion="happiness",
                    aus="6+12", aus_source="prototype", face_key="sample", status="accepted",
                    origin={})
    pack.save()
    t_ms = item.clip["t_ms"]
    assert len(t_ms) == len(frames) > 8 and t_ms[0] == 0.0
    cfg = SessionConfig(emotions=("happiness",), test_items_per_emotion=1,
                        practice_per_emotion=0, lessons=False, neutral_before_ms=1000)
    with running_server(tmp_path / "t.db", tmp_path / "lib", cfg) as (srv, trainer), \
            browser_page() as (page, errors):
        page.goto(srv.url)
        page.wait_for_selector("#trainee")
        period = float(page.get_attribute("body", "data-frame-period"))
        page.fill("#trainee", "Clip")
        page.keyboard.press("Enter")
        wait_step(page, 0)
        page.wait_for_selector("#stage[data-ready]")
        page.evaluate(SAMPLER)
        page.wait_for_selector("#answers[data-ready]", timeout=30_000)
        page.wait_for_timeout(100)
        samples = page.evaluate("() => window.__samples.slice()")
        log = json.loads(page.get_attribute("#stage", "data-clip-log"))
        assert int(page.get_attribute("#stage", "data-clip")) == len(t_ms)
        page.keyboard.press(key_for("happiness"))
        wait_step(page, 1)
        assert errors == []
    with Session(trainer.engine) as s:
        (a,) = s.scalars(select(Answer)).all()
    assert 1 <= a.flash_attempts <= 3
    # every frame after the neutral one, in order, each within one display frame of its time
    # (the flash is shown again, up to three times, when a dropped display frame made it late)
    assert [k for k, _, _ in log] == list(range(1, len(t_ms)))
    due = [t - t_ms[1] for t in t_ms]
    for k, shown_at, want in log:
        assert want == pytest.approx(due[k])
        assert abs(shown_at - want) <= period, (k, shown_at, want)
    # the trial lasted the clip's length (its last frame shown one frame interval)
    assert a.set_ms == pytest.approx(due[-1] + t_ms[-1] - t_ms[-2], abs=0.01)
    assert abs(a.measured_ms - a.set_ms) <= a.frame_period_ms
    # what the canvas showed: the neutral frame, then changing clip frames, then neutral again
    states = [s for s in samples if s[2]]
    on = [c for c, _, st in states if st == "expression"]
    assert states[0][2] == "neutral" and states[-1][2] == "neutral-after"
    assert len(set(on)) >= len(t_ms) // 2  # frames of the clip change on screen
