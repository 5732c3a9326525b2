"""``tells eval images``: metrics over a folder-per-class collection, errors counted, AU F1."""

import json

import cv2
import pytest

from tells.cli.eval_images import metrics
from tells.cli.main import main
from tells.io.samples import POSED_PHOTOS, sample_path


def test_metrics_by_hand():
    m = metrics(["anger", "anger", "happiness", "neutral"],
                ["anger", "happiness", "happiness", "happiness"])
    assert m["accuracy"] == 0.5
    assert m["per_class"]["anger"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667,
                                       "support": 2}
    assert m["per_class"]["happiness"]["precision"] == pytest.approx(1 / 3, abs=1e-3)
    assert m["per_class"]["neutral"]["recall"] == 0.0
    assert m["confusion"]["matrix"] == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]
    assert m["macro_f1"] == pytest.approx((0.6667 + 0.5 + 0.0) / 3, abs=1e-3)


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    folder = {"surprise": "surprised", "happiness": "happy", "anger": "angry",
              "disgust": "disgust"}
    for name, emo in POSED_PHOTOS.items():
        d = root / folder[emo]
        d.mkdir()
        img = cv2.imread(str(sample_path(name)))
        cv2.imwrite(str(d / name), img)
    # a tight 48×48 gray crop of the happy face, as in FER-style datasets
    img = cv2.imread(str(sample_path("0-f15-hao-ph.jpg")), cv2.IMREAD_GRAYSCALE)
    h, w = img.shape
    crop = img[int(0.28 * h):int(0.78 * h), int(0.22 * w):int(0.78 * w)]
    cv2.imwrite(str(root / "happy" / "tight48.png"), cv2.resize(crop, (48, 48)))
    (root / "calm").mkdir()
    (root / "calm" / "broken.jpg").write_bytes(b"not an image")
    (root / "labels.csv").write_text("image,aus\nhappy/0-f15-hao-ph.jpg,6+12+25\n"
                                     "surprised/0-f1-su-ph.jpg,1+2+5B+26\n")
    return root


def test_eval_images_json(collection, tmp_path, capsys):
    out = tmp_path / "out"
    code = main(["eval", "images", str(collection), "--json", "--out", str(out), "--aus",
                 str(collection / "labels.csv")])
    assert code == 0
    result = json.loads(capsys.readouterr().out)
    assert result["images"] == 6 and result["errors"] == 1
    assert set(result["labels"]) == {"anger", "disgust", "happiness", "surprise"}
    assert result["per_class"]["happiness"]["support"] == 2
    assert result["accuracy"] >= 0.8
    assert result["aus"]["AU12"]["support"] == 1 and result["aus"]["AU26"]["recall"] == 1.0
    assert (out / "predictions.csv").read_text().count("\n") == 7
    assert json.loads((out / "metrics.json").read_text())["images"] == 6


def test_eval_images_missing_dir_is_one_line_error(tmp_path, capsys):
    assert main(["eval", "images", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "not a folder" in err and err.count("\n") == 1


def test_unreadable_images_are_named_and_nothing_read_is_a_failure(collection, tmp_path,
                                                                     capsys):
    # the collection holds one broken file among real photos: a flagged partial result
    assert main(["eval", "images", str(collection), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "6 images, 1 NOT READ (partial result)" in out
    assert "not read: calm/broken.jpg" in out
    # only broken files: nothing was measured, one error line and a non-zero exit
    only = tmp_path / "broken" / "calm"
    only.mkdir(parents=True)
    (only / "broken.jpg").write_bytes(b"not an image")
    assert main(["eval", "images", str(only.parent), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "no image could be read" in err and "broken.jpg" in err and err.count("\n") == 1
