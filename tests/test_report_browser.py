"""The HTML report in real headless Chromium (Debian's /usr/bin/chromium), opened from disk.

The analyses are real runs of ``tells analyze``: on a sample video into which ``tells synth``
injected expressions (so there are several events of both kinds to show and filter), and on
the faceless sample video.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from browser import browser_page
from PIL import Image

from tells.cli.main import main
from tells.insights.synthetic import write_synthetic_analysis
from tells.io.samples import sample_path
from tells.report import write_report

pytestmark = pytest.mark.browser

TRANSCRIPT = """WEBVTT

00:00:00.000 --> 00:00:06.000
<v Sam Seller>Thanks for making the time today.</v>

00:00:06.000 --> 00:00:12.000
<v Sam Seller>The annual plan comes to forty thousand.</v>

00:00:12.000 --> 00:00:36.000
<v Pat Prospect>That is more than we budgeted.</v>
"""
SEGMENTS = "start,end,label\n0,6,intro\n00:00:06,00:00:36,pricing\n"


def _analyze(video, out, exit_codes=(0,)):
    """``tells analyze`` as a user runs it (no report: the tests write it)."""
    assert main(["analyze", str(video), "-o", str(out), "--quiet", "--no-report"]) in exit_codes
    return out


@pytest.fixture(scope="module")
def sample_report(tmp_path_factory):
    work = tmp_path_factory.mktemp("call")
    video = work / "call.mp4"
    assert main(["synth", str(sample_path("single_face.mp4")), "-o", str(video), "--truth",
                 str(work / "truth.csv"), "--seconds", "36", "--segment", "0,0.5", "--rate",
                 "12", "--seed", "5", "--quiet"]) == 0
    d = _analyze(video, work / "analysis")
    (d / "call.vtt").write_text(TRANSCRIPT)
    (d / "agenda.csv").write_text(SEGMENTS)
    path = write_report(d, transcript=d / "call.vtt", segments=d / "agenda.csv")
    events = pd.read_csv(d / "events.csv")
    assert len(events) >= 4, "the report tests need a few events"
    return path, events


def _open(page, path):
    page.goto(path.resolve().as_uri())
    page.wait_for_selector("body[data-ready='1']", timeout=20000)


_INKED = """sel => Array.from(document.querySelectorAll(sel)).map(c => {
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
  return n / (c.width * c.height); })"""


def _cards(page):
    return page.eval_on_selector_all(
        ".card", "cs => cs.map(c => [c.dataset.emotion, c.dataset.kind, +c.dataset.apex])")


def test_report_draws_timelines_cards_and_filters(sample_report):
    path, events = sample_report
    with browser_page() as (page, errors):
        _open(page, path)
        # timelines drawn: the emotion chart covers its plot area, the overview has marks
        emo_ink = page.evaluate(_INKED, ".emotion-timeline")
        assert len(emo_ink) == 1 and emo_ink[0] > 0.5
        assert page.evaluate(_INKED, "#overview-canvas")[0] > 0.005
        assert page.evaluate(_INKED, ".au-heatmap")[0] > 0.9
        # every event is a card, with a picture cut from the video
        assert len(_cards(page)) == len(events)
        assert page.locator(".card .pic img").count() == len(events)
        # emotion filter: untick the most common emotion
        top = events["emotion"].value_counts().idxmax()
        page.locator(f"#emotion-filter input[data-emotion='{top}']").uncheck()
        cards = _cards(page)
        assert len(cards) == len(events) - int((events["emotion"] == top).sum())
        assert top not in {c[0] for c in cards}
        page.locator(f"#emotion-filter input[data-emotion='{top}']").check()
        # kind filter
        kind = events["kind"].value_counts().idxmin()
        page.select_option("#kind-filter", kind)
        cards = _cards(page)
        assert len(cards) == int((events["kind"] == kind).sum()) and cards
        assert {c[1] for c in cards} == {kind}
        page.select_option("#kind-filter", "all")
        # minimum confidence by keyboard, in steps of 0.05 up to about the median
        steps = int(events["confidence"].median() * 20)
        page.focus("#conf-filter")
        for _ in range(steps):
            page.keyboard.press("ArrowRight")
        shown = sorted(round(c[2], 3) for c in _cards(page))
        expected = sorted(events.loc[events["confidence"] >= round(steps * 0.05, 2), "apex_t"].round(3))
        assert shown == expected and 0 < len(shown) < len(events)
        assert errors == []


def test_report_context_and_card_seeks_video(sample_report):
    path, events = sample_report
    with browser_page() as (page, errors):
        _open(page, path)
        # segments table: one row per agenda item, counts add up to all events
        rows = page.locator("#segments tbody tr")
        assert rows.count() == 2
        assert rows.nth(0).locator("td").nth(0).inner_text() == "intro"
        totals = [int(rows.nth(i).locator("td").nth(2).inner_text()) for i in range(2)]
        assert sum(totals) == len(events)
        # a card of an event in the last cue shows the prospect's words
        late = events.index[events["apex_t"] > 12.5][0]
        card = page.locator(f".card[data-apex='{events.loc[late, 'apex_t']}']")
        assert "That is more than we budgeted." in card.inner_text()
        assert "Pat Prospect" in card.inner_text()
        # clicking the card seeks the embedded player of the original video
        card.click()
        t = page.evaluate("document.querySelector('#player video').currentTime")
        start = max(0.0, events.loc[late, "onset_t"] - 1)
        assert start - 0.05 <= t <= start + 1.0
        assert errors == []


def test_screenshot_is_not_blank(sample_report, tmp_path):
    path, _ = sample_report
    with browser_page() as (page, errors):
        _open(page, path)
        shot = tmp_path / "report.png"
        page.screenshot(path=str(shot), full_page=True)
        img = np.asarray(Image.open(io.BytesIO(shot.read_bytes())).convert("RGB"), dtype=float)
        assert img.shape[0] > 900
        assert img.std() > 20
        assert len(np.unique(img.reshape(-1, 3)[::7], axis=0)) > 200
        assert errors == []


def test_no_face_report(tmp_path):
    """``tells analyze`` of the real no_face.mp4, then its report."""
    # exit 3: the file's header announces 3 frames more than its stream holds (kept partial)
    d = _analyze(sample_path("no_face.mp4"), tmp_path / "noface", exit_codes=(0, 3))
    path = write_report(d)
    with browser_page() as (page, errors):
        _open(page, path)
        text = page.inner_text("#noface")
        assert "No face was found" in text and "no_face.mp4" in text
        assert page.locator(".card").count() == 0
        assert page.locator("#faces").count() == 0
        assert errors == []


def test_early_stage_analysis_says_not_available(tmp_path):
    """Only detection columns (AU, emotion and spotting stages not run): sections degrade."""
    d = tmp_path / "early"
    write_synthetic_analysis(d, video=None, duration_s=5, fps=10, n_events=0, csv=False)
    f = pd.read_parquet(d / "frames.parquet")
    f[["frame", "timestamp", "face_id", "confidence", "success", "x", "y", "width", "height"]
      ].to_parquet(d / "frames.parquet", index=False)
    for name in ("events.csv", "events.json"):
        (d / name).unlink()
    path = write_report(d)
    with browser_page() as (page, errors):
        _open(page, path)
        body = page.inner_text("body")
        assert "Emotion timeline not available" in body
        assert "Action-unit heatmap not available" in body
        assert "Moments not available" in body
        assert "synthetic" in body
        assert page.locator(".face").count() == 1
        assert errors == []


def test_bench_report_times_an_existing_report(sample_report, capsys):
    """``tells bench report --open``: load figures of a report tells analyze wrote."""
    import json

    path, _ = sample_report
    assert main(["bench", "report", "--open", str(path), "--runs", "1", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["report_mb"] == round(path.stat().st_size / 1e6, 3)
    assert 0 < r["dom_content_loaded_ms"] <= r["interactive_ms"]
    assert r["filter_ms"] is not None and r["page_errors"] == []
    assert main(["bench", "report", "--open", str(path.parent / "missing.html")]) == 2
    assert "missing.html: no such file" in capsys.readouterr().err
