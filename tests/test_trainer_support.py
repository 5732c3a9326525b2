"""Shared pieces of the trainer tests: a stimulus pack folder made from real frames of the
sample video (one person, different expressions), neutral face photos for the generated
source, and the trainer server on a free loopback port. The tests in this file check the
pack folder and the photos are what the other tests rely on."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

from tells.io.samples import sample_path
from tells.trainer.emotions import EMOTIONS
from tells.trainer.images import write_png
from tells.trainer.sources import read_frames

#: (neutral frame, expression frame) pairs of WolfgangLanger_Pexels.mp4 taken from similar
#: head poses, three neutral frames so the pack holds three "faces" (face keys). The emotion
#: labels the folder gives them are arbitrary: these tests exercise the training flow, not
#: the labels.
FRAME_PAIRS = (
    [(0, b) for b in (20, 40, 60, 80, 100, 120, 140, 160, 180, 200, 220, 460)]
    + [(240, b) for b in (260, 280, 300, 320, 340, 420, 440)]
    + [(120, 60), (120, 80)]
)


def write_frames_pack_folder(dest: Path) -> dict[str, str]:
    """Write ``dest/<emotion>/<item>/neutral.png, expression.png`` from the sample video, three
    items per emotion. Returns ``{"<emotion>/<item>": emotion}``."""
    frames = read_frames(sample_path("WolfgangLanger_Pexels.mp4"),
                         [i for pair in FRAME_PAIRS for i in pair])
    labels = {}
    for k, (a, b) in enumerate(FRAME_PAIRS):
        emotion = EMOTIONS[k % len(EMOTIONS)]
        d = dest / emotion / f"f{a:03d}-{b:03d}"
        write_png(d / "neutral.png", frames[a])
        write_png(d / "expression.png", frames[b])
        labels[f"{emotion}/{d.name}"] = emotion
    return labels


def neutral_photos(dest: Path) -> list[Path]:
    """Three photos of three people for the face warp: the sample photo ``single_face.jpg``
    (a smiling face: the warp adds to whatever the photo shows) and frame 0 of
    ``single_face.mp4`` and of ``WolfgangLanger_Pexels.mp4`` (still faces) written as PNG."""
    dest.mkdir(parents=True, exist_ok=True)
    out = [sample_path("single_face.jpg")]
    for video in ("single_face.mp4", "WolfgangLanger_Pexels.mp4"):
        p = dest / f"{Path(video).stem}-frame0.png"
        write_png(p, read_frames(sample_path(video), [0])[0])
        out.append(p)
    return out


@contextmanager
def running_server(db: Path, library: Path, defaults=None):
    """The trainer web app on 127.0.0.1 and a free port; stopped on exit."""
    from tells.trainer.db import open_db
    from tells.trainer.server import TrainerServer
    from tells.trainer.session import Trainer

    trainer = Trainer(open_db(db), library, defaults)
    srv = TrainerServer(trainer, port=0).start()
    try:
        yield srv, trainer
    finally:
        srv.stop()


def test_frames_pack_folder_has_three_items_per_emotion(tmp_path):
    labels = write_frames_pack_folder(tmp_path)
    assert len(labels) == 3 * len(EMOTIONS)
    for emotion in EMOTIONS:
        items = sorted((tmp_path / emotion).iterdir())
        assert len(items) == 3
        assert all((i / "neutral.png").stat().st_size > 10_000 for i in items)


def test_neutral_photos_show_one_face_each(tmp_path):
    from tells import analyze_image

    photos = neutral_photos(tmp_path)
    assert len(photos) == 3 and all(p.is_file() for p in photos)
    assert [len(analyze_image(p)) for p in photos] == [1, 1, 1]
