"""``tells people``: a face named in one recording is recognised in another; the store is
local, empty until someone is added, and deletable."""

from __future__ import annotations

import json
import shutil

from conftest import run_cli, write_video

from tells.io import provision
from tells.io.video import open_video


def _home(tmp_path):
    """A private TELLS_HOME with copies of the provisioned descriptor files."""
    home = tmp_path / "home"
    for name in ("face_descriptor", "face_descriptor_manifest"):
        src = provision.model_path(name, quiet=True)
        dst = home / "models" / src.parent.name / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    return home


def _clip(path, source, start: int, stop: int, fps: int):
    with open_video(source) as v:
        frames = [f.image for f in v if start <= f.index < stop]
    return write_video(path, frames, fps=fps)


def test_named_person_is_found_in_another_recording_and_can_be_deleted(tmp_path, wolfgang,
                                                                        monkeypatch):
    from tells.face import people

    home = _home(tmp_path)
    env = {"TELLS_HOME": str(home)}
    monkeypatch.setenv("TELLS_HOME", str(home))
    store = home / "people" / "people.json"
    assert people.load() == {} and not store.exists()  # nothing until someone is added

    first = _clip(tmp_path / "first.mp4", wolfgang, 0, 60, 24)
    later = _clip(tmp_path / "later.mp4", wolfgang, 380, 440, 24)  # 16 s later, other look
    other = _clip(tmp_path / "other.mp4", provision.sample_path("single_face.mp4"), 0, 60, 30)
    p = run_cli("people", "add", "customer", str(first), "--json", env=env)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["descriptors"] >= 1 and store.is_file()

    out = tmp_path / "out"
    p = run_cli("people", "match", str(later), "-o", str(out), "--json", env=env)
    assert p.returncode == 0, p.stderr
    faces = json.loads(p.stdout)["faces"]
    assert [f["name"] for f in faces] == ["customer"]
    assert json.loads((out / "people.json").read_text())["faces"][0]["name"] == "customer"
    known = people.load()
    other_faces = people.faces_in(other)
    assert [people.match(f["descriptors"], known)[0] for f in other_faces.values()] == [None]

    p = run_cli("people", "remove", "customer", env=env)
    assert p.returncode == 0 and not store.exists()
    assert people.load() == {}
    people.add("someone", other_faces[0]["descriptors"], "other.mp4")
    assert store.is_file()
    people.store_path().unlink()  # what 'tells people clear' does
    assert people.load() == {}
