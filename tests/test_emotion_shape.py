"""The linear shape model (tells.emotion.shape) reads a real face's change of shape against the
same face a moment before: smiles as happiness on the sample videos (WolfgangLanger's frames
are labelled by eye in tests/data/wolfganglanger_labels.csv; its crying frames, eyes shut and
mouth open, are not read as sadness by the shape alone, which is why event naming fuses it with
the CNN and the action units)."""

import csv
from pathlib import Path

import numpy as np
import pytest

import tells
from tells.api import default_stages
from tells.config import Settings
from tells.emotion.event import SHAPE_EMOTIONS
from tells.emotion.shape import shared_shape_model
from tells.emotion.stage import APPEARANCE_WIDTH, EmotionStage
from tells.io.samples import sample_path

LABELS = Path(__file__).parent / "data" / "wolfganglanger_labels.csv"


def _record(video: str) -> dict[int, np.ndarray]:
    stages = default_stages(Settings())
    tells.analyze_video(sample_path(video), report=False, stages=stages)
    emo = next(st for st in stages if isinstance(st, EmotionStage))
    frames, values = emo.appearance(1) if len(emo.appearance(1)[0]) else emo.appearance(0)
    assert values.shape[1] == APPEARANCE_WIDTH
    return {int(f): v[7:] for f, v in zip(frames, values, strict=True)}


def _read(change: np.ndarray) -> str:
    p = shared_shape_model().change_probs(change, SHAPE_EMOTIONS)
    assert abs(p.sum() - 1) < 1e-9
    return SHAPE_EMOTIONS[int(p.argmax())]


@pytest.fixture(scope="module")
def wolfgang():
    return _record("WolfgangLanger_Pexels.mp4")


def test_smile_against_the_rest_before_it_reads_happiness():
    rec = _record("single_face.mp4")
    rest = np.median([rec[f] for f in range(0, 16) if f in rec], axis=0)
    smiles = [_read(rec[f] - rest) for f in range(25, 61) if f in rec]
    assert len(smiles) >= 30
    assert smiles.count("happiness") >= 0.9 * len(smiles)


def test_labelled_smiles_read_against_the_resting_face(wolfgang):
    with open(LABELS) as fh:
        labels = {int(r["frame"]): r["emotion"] for r in csv.DictReader(fh)}
    rest = np.median([wolfgang[f] for f in (0, 1, 2)], axis=0)
    smiles = [f for f, e in labels.items() if e == "happiness"]
    assert len(smiles) >= 5
    read = {f: _read(wolfgang[f] - rest) for f in smiles}
    assert all(e == "happiness" for e in read.values()), read
    # the resting frames themselves are no change: nothing strong either way
    assert max(shared_shape_model().change_probs(wolfgang[f] - rest, SHAPE_EMOTIONS).max()
               for f in (0, 1, 2)) < 0.9
