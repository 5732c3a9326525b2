"""The parts of ``tells batch`` that need no worker: finding inputs, naming them by content,
the catalogue, and publishing result folders by rename."""

from __future__ import annotations

import hashlib
import shutil

import av
import pytest

from tells.batch.bench import distinct_copies
from tells.batch.catalog import Catalog, Entry
from tells.batch.discover import discover
from tells.batch.hashing import content_hash
from tells.batch.outputs import STAGING_NAME, folder_name, publish, stage
from tells.errors import InputError, OutputError
from tells.io.samples import sample_path


def _touch(path, data=b"x"):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_discover_files_folders_and_globs(tmp_path):
    a = _touch(tmp_path / "calls" / "a.mp4")
    b = _touch(tmp_path / "calls" / "2024" / "week1" / "b.MOV")
    _touch(tmp_path / "calls" / "notes.txt")
    _touch(tmp_path / "calls" / ".hidden.mp4")
    _touch(tmp_path / "calls" / ".cache" / "c.mp4")
    d = _touch(tmp_path / "extra" / "d.mkv")
    e = _touch(tmp_path / "extra" / "e.webm")
    named = _touch(tmp_path / "odd.bin")  # named explicitly: kept, so it gets reported

    found = discover([tmp_path / "calls", str(tmp_path / "extra" / "*.mkv"), named, a])
    assert found == sorted([a, b, d, named])
    assert e not in found
    assert discover([str(tmp_path / "**" / "*.webm")]) == [e]


def test_discover_names_what_is_missing(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        discover([tmp_path / "nope.mp4"])
    with pytest.raises(InputError, match="matches no file"):
        discover([str(tmp_path / "*.mp4")])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no video files found"):
        discover([tmp_path / "empty"])


def test_content_hash_follows_bytes_not_names(tmp_path):
    src = sample_path("single_face.mp4")
    moved = shutil.copy(src, tmp_path / "renamed.mp4")
    assert content_hash(moved) == content_hash(src) == hashlib.sha256(src.read_bytes()).hexdigest()
    copies = distinct_copies(src, 2, tmp_path / "copies")
    hashes = {content_hash(p) for p in [src, *copies]}
    assert len(hashes) == 3
    for p in copies:  # same frames, only the container title differs
        with av.open(str(p)) as c, av.open(str(src)) as s:
            assert sum(1 for _ in c.decode(video=0)) == sum(1 for _ in s.decode(video=0))


def test_folder_names_never_collide(tmp_path):
    h1, h2 = "a" * 64, "b" * 64
    assert folder_name(tmp_path / "x" / "call.mp4", h1, set(), tmp_path) == "call"
    second = folder_name(tmp_path / "y" / "call.mp4", h2, {"call"}, tmp_path)
    assert second != "call" and second.startswith("call-")
    (tmp_path / "report").mkdir()  # something the user already keeps there
    assert folder_name(tmp_path / "report.mp4", h1, set(), tmp_path) != "report"
    assert folder_name(tmp_path / "catalog.sqlite.mp4", h1, set(), tmp_path) != "catalog.sqlite"


def test_publish_replaces_a_folder_whole(tmp_path):
    first = stage(tmp_path, "c" * 64)
    (first / "run.json").write_text("1")
    (first / "old_only.csv").write_text("x")
    publish(tmp_path, first, "call")
    second = stage(tmp_path, "c" * 64)
    (second / "run.json").write_text("2")
    final = publish(tmp_path, second, "call")
    assert sorted(p.name for p in final.iterdir()) == ["run.json"]
    assert (final / "run.json").read_text() == "2"
    assert not first.exists() and not second.exists()
    assert list((tmp_path / STAGING_NAME).iterdir()) == []


def test_catalog_rows_survive_reopening(tmp_path):
    with Catalog(tmp_path) as cat:
        cat.save(Entry(hash="d" * 64, path="/v/a.mp4", size_bytes=10, mtime_ns=1, output="a",
                       status="queued", attempts=0))
        cat.update("d" * 64, status="done", faces=2, frames=50)
    with Catalog(tmp_path, create=False) as cat:
        (row,) = cat.rows()
    assert (row["status"], row["faces"], row["frames"], row["output"]) == ("done", 2, 50, "a")
    with pytest.raises(OutputError, match="no batch catalogue"):
        Catalog(tmp_path / "elsewhere", create=False)
