"""The workspace in real headless Chromium: a coach creates a team and invites a member; the
member joins, uploads the clip with its consent record, watches the job finish, opens the
report, trains a short session; the coach's dashboard shows the member's progress.
Screenshots go to ``$TELLS_SERVER_SCREENSHOTS`` when set."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import test_server_support as sup
from browser import browser_page
from test_server_support import PASSWORD

from tells.trainer.emotions import EMOTIONS
from tells.trainer.packs import load_pack

clip, pg_base, library, world = sup.clip, sup.pg_base, sup.library, sup.world  # fixtures
pytestmark = pytest.mark.browser
SHOTS = os.environ.get("TELLS_SERVER_SCREENSHOTS")


def shot(page, name: str, tmp_path: Path) -> None:
    p = tmp_path / f"{name}.png"
    page.screenshot(path=str(p), full_page=True)
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        shutil.copy(p, Path(SHOTS) / p.name)


def login(page, url: str, username: str) -> None:
    page.goto(url + "login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.wait_for_selector("#logout")


@pytest.mark.parametrize("world", ["sqlite"], indirect=True)
def test_coach_invites_member_who_uploads_and_trains(world, clip, library, tmp_path):
    url = world["srv"].url
    truth = {it.key: it.emotion for it in load_pack(library / "starter").items}
    with browser_page() as (page, errors):
        failed = []
        page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
        # the coach makes a team and an invitation link
        login(page, url, "carla")
        page.fill("#team-name", "Workshop")
        page.click("#create-team")
        page.wait_for_selector("#make-invite")
        page.click("#make-invite")
        link = page.inner_text("#invite-link").strip()
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/invite/[\w-]{40,}", link)
        shot(page, "01-coach-invites", tmp_path)
        page.click("#logout")
        page.wait_for_selector("#login-form")

        # the member joins with the link and is logged in
        page.goto(link)
        page.fill("#username", "mia")
        page.fill("#display_name", "Mia Member")
        page.fill("#password", PASSWORD)
        page.click("#join")
        page.wait_for_selector("#upload-link")
        assert "Workshop" in page.inner_text("h1")

        # upload with the consent record
        page.click("#upload-link")
        page.fill("#title", "Mia's discovery call")
        page.set_input_files("#video", str(clip))
        page.fill("#subjects", "Pat Prospect")
        page.fill("#given_by", "Pat Prospect")
        page.fill("#given_at", "2026-11-30T10:00")
        assert "emotion-recognition" in page.input_value("#notice")
        page.check("#confirm")
        shot(page, "02-upload-with-consent", tmp_path)
        page.click("#upload")
        page.wait_for_selector("#job")
        shot(page, "03-job-running", tmp_path)
        # the page follows the job and reloads with the report when it is done
        page.wait_for_selector('#job[data-status="done"]', timeout=240_000)
        page.wait_for_selector("iframe#report", timeout=30_000)
        report = page.frame_locator("iframe#report")
        report.locator("body[data-ready='1']").wait_for(timeout=30_000)
        frame = next(f for f in page.frames if f.url.endswith("/report"))
        # the sandboxed report plays the video through its signed link
        frame.wait_for_function("document.querySelector('video') && document.querySelector('video').readyState >= 1",
                                timeout=30_000)
        assert "Pat Prospect" in page.inner_text("#consent")
        shot(page, "04-report", tmp_path)

        # a short training session under the account
        page.click("#nav-train")
        page.wait_for_selector("#trainee")
        assert page.input_value("#trainee") == "mia"
        page.keyboard.press("Enter")
        index, answers = 0, []
        while True:
            page.wait_for_selector(f'#app[data-step="{index}"]', timeout=20_000)
            view = page.get_attribute("#app", "data-view")
            if view == "report":
                break
            if view == "lesson":
                page.keyboard.press("Enter")
                index += 1
                continue
            page.wait_for_selector("#answers[data-ready]", timeout=20_000)
            phase = page.get_attribute("#stage", "data-phase")
            shown = truth[page.get_attribute("#stage", "data-item")]
            answer = shown if phase != "pretest" else EMOTIONS[(EMOTIONS.index(shown) + 1) % 7]
            page.keyboard.press(str(EMOTIONS.index(answer) + 1))
            answers.append(phase)
            if phase == "practice":
                page.wait_for_selector("#feedback[data-shown]")
                page.keyboard.press("Enter")
            index += 1
        page.wait_for_selector("#report-title")
        assert "mia" in page.inner_text("#report-title")
        shot(page, "05-training-report", tmp_path)
        page.click("#logout")
        page.wait_for_selector("#login-form")

        # the coach sees the member's progress
        login(page, url, "carla")
        page.click("text=Workshop")
        page.click("#dashboard-link")
        card = page.locator('.member-progress[data-user="mia"]')
        card.wait_for()
        pre, post = card.locator(".pre").inner_text(), card.locator(".post").inner_text()
        shot(page, "06-coach-dashboard", tmp_path)
        assert errors == [], (errors, failed)
    # pre-test answered wrong on purpose, post-test right: the dashboard shows what was done
    assert answers.count("pretest") == 2 and answers.count("posttest") == 2
    assert (pre, post) == ("0%", "100%")
