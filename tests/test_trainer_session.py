"""Session logic without a browser: the staircase, the plan (unseen test faces), answering,
scoring, the migrated database, and the server's loopback-only guards."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from sqlalchemy import inspect, text
from test_trainer_support import running_server

from tells.errors import InputError
from tells.trainer.db import open_db
from tells.trainer.emotions import EMOTIONS, action_units, au_marks, prototype_code
from tells.trainer.packs import Item, new_pack
from tells.trainer.session import SessionConfig, Trainer, build_plan
from tells.trainer.staircase import LEVELS_MS, Staircase


def test_staircase_two_down_one_up_from_500_to_40():
    s = Staircase()
    assert s.current_ms == 500
    s.update(True)
    assert s.current_ms == 500  # one correct answer is not enough
    s.update(True)
    assert s.current_ms == 400 and s.mastered_ms == 500
    s.update(False)
    assert s.current_ms == 500
    s = Staircase.replay([True] * 40)
    assert s.current_ms == 40 and s.mastered_ms == 40  # floor reached and held
    assert Staircase.replay([False] * 5).current_ms == 500 and Staircase.replay([False]).mastered_ms is None
    assert LEVELS_MS[0] == 500 and LEVELS_MS[-1] == 40


def test_action_units_and_prototypes_come_from_the_facs_layer():
    assert [a.code for a in action_units("1+2+5B+26")] == ["1", "2", "5B", "26"]
    # table-style keys, sides and free text from annotation sheets (skipped)
    assert [(a.code, a.name) for a in action_units("AU04+AU12R+?+L14A")] == [
        ("4", "brow lowerer"), ("R12", "lip corner puller"), ("L14A", "dimpler")]
    assert action_units("") == [] and action_units("smiles") == []
    assert prototype_code("surprise") == "1+2+5B+26" and prototype_code("Contempt") == "R12A+R14A"
    with pytest.raises(InputError, match="unknown emotion 'boredom'"):
        prototype_code("boredom")
    import numpy as np

    lm = np.zeros((478, 3))
    lm[61] = [100, 300, 0]
    lm[291] = [200, 300, 0]
    marks = au_marks("R12A+R14A", lm, 400, 400)
    assert [m["points"] for m in marks] == [[[0.25, 0.75]], [[0.25, 0.75]]]  # one side only


def _items(per_emotion: int, faces: int) -> list[Item]:
    return [Item(pack="p", id=f"{e}{k}", emotion=e, aus="", aus_source="prototype",
                 face_key=f"face{k % faces}") for e in EMOTIONS for k in range(per_emotion)]


def test_plan_phases_and_unseen_post_test_faces():
    cfg = SessionConfig(test_items_per_emotion=2, practice_per_emotion=3, seed=1)
    plan = build_plan(_items(per_emotion=6, faces=6), cfg, seen_faces={"face0"})
    phases = [s.get("phase", s["kind"]) for s in plan.steps]
    assert phases == ["pretest"] * 14 + ["lesson"] * 7 + ["practice"] * 21 + ["posttest"] * 14
    for e in EMOTIONS:
        pre = {s["face_key"] for s in plan.steps if s.get("phase") == "pretest" and s["emotion"] == e}
        post = {s["face_key"] for s in plan.steps if s.get("phase") == "posttest" and s["emotion"] == e}
        assert len(pre) == 2 and len(post) == 2 and not pre & post
        assert "face0" not in pre  # a face seen in an earlier session is not a test face
    assert plan.notes == []


def test_plan_says_when_the_library_is_too_small():
    cfg = SessionConfig(emotions=("anger", "fear", "sadness"), seed=2)
    items = [i for i in _items(per_emotion=2, faces=2) if i.emotion in ("anger", "fear")]
    plan = build_plan(items, cfg)
    assert any(n.startswith("no items for sadness") for n in plan.notes)
    assert any("post-test reuses 2 pre-test item(s)" in n for n in plan.notes)


def test_database_is_created_by_migrations(tmp_path):
    engine = open_db(tmp_path / "t.db")
    names = set(inspect(engine).get_table_names())
    assert {"trainees", "sessions", "answers", "alembic_version"} <= names
    with engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == "0002"
    cols = {c["name"] for c in inspect(engine).get_columns("answers")}
    assert {"measured_ms", "measured_frames", "frame_period_ms", "flash_attempts"} <= cols
    open_db(tmp_path / "t.db")  # opening again is a no-op upgrade


def test_unwritable_database_location_is_one_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from tells.errors import OutputError

    with pytest.raises(OutputError, match="cannot create the database folder"):
        open_db(blocker / "sub" / "t.db")


def test_answers_are_checked_and_scored(tmp_path):
    # a pack manifest without images: the session logic reads only the manifest
    pack = new_pack(tmp_path / "lib", "p", "folder")
    pack.items = _items(per_emotion=2, faces=2)
    pack.save()
    t = Trainer(open_db(tmp_path / "t.db"), tmp_path / "lib",
                SessionConfig(emotions=("anger", "fear"), test_items_per_emotion=1,
                              practice_per_emotion=3, lessons=False, seed=3))
    sid = t.start("Bo")
    with pytest.raises(InputError, match="answer must be one of"):
        t.answer(sid, 0, "boredom")
    step = t.step(sid)
    durations = []
    while step["kind"] == "trial":
        with t.engine.connect() as c:
            plan = json.loads(c.execute(text("select plan from sessions")).scalar())
        emotion = plan[step["index"]]["emotion"]
        if step["phase"] == "practice":
            durations.append(step["set_ms"])
        answer = emotion if step["phase"] != "pretest" else ("fear" if emotion == "anger" else "anger")
        res = t.answer(sid, step["index"], answer, measured_ms=step["set_ms"] + 3,
                       frame_period_ms=16.7, reaction_ms=500)
        assert res["correct"] == (answer == emotion)
        assert ("truth" in res) == (step["phase"] == "practice")
        assert t.answer(sid, step["index"], answer)["stale"]  # a double submit is ignored
        step = res["next"]
    assert durations == [500, 500, 400, 400, 300, 300]  # all practice answers right
    r = step["report"]
    assert r["pretest_accuracy"] == 0.0 and r["posttest_accuracy"] == 1.0
    assert r["mastered_ms"] == 300  # two right in a row at 300 ms
    assert r["confusions"]["pretest"]["anger"]["fear"] == 1
    assert r["flash_timing_max_error_ms"] == 3.0
    assert "not proof of deception" in r["disclaimer"]
    hist = t.progress()
    assert hist[0]["name"] == "Bo" and hist[0]["sessions"][0]["posttest_accuracy"] == 1.0


def test_server_listens_on_loopback_only_and_refuses_other_hosts(tmp_path):
    with running_server(tmp_path / "t.db", tmp_path / "lib") as (srv, _):
        assert srv.httpd.server_address[0] == "127.0.0.1"
        state = json.load(urllib.request.urlopen(srv.url + "api/state"))
        assert state["emotions"] == list(EMOTIONS) and state["packs"] == []
        req = urllib.request.Request(srv.url + "api/state", headers={"Host": "evil.example:80"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 403
        # a form post (no JSON) cannot start a session
        req = urllib.request.Request(srv.url + "api/sessions", data=b"trainee=x", method="POST")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert e.value.code == 400
        # an empty library: a clear message, not a crash
        req = urllib.request.Request(srv.url + "api/sessions", method="POST",
                                     data=json.dumps({"trainee": "x"}).encode(),
                                     headers={"Content-Type": "application/json"})
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req)
        assert "build a pack first" in json.load(e.value)["error"]
