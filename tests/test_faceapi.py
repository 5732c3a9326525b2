"""face-api's expression net, provisioned from the npm tarball and run in numpy."""

from __future__ import annotations

import json
import shutil

import cv2
import numpy as np
import pytest
from conftest import run_cli

from tells.emotion import faceapi
from tells.errors import ProvisionError
from tells.face.align import aligned_crop
from tells.face.still import detector, find_faces
from tells.io.provision import MODELS, model_path
from tells.io.samples import sample_path


def _direct_conv(x, filters, stride):
    """Textbook 3×3 convolution with TF 'same' padding, one output pixel at a time."""
    h, w, _ = x.shape
    oh, ow = -(-h // stride), -(-w // stride)
    pad_y, pad_x = max((oh - 1) * stride + 3 - h, 0), max((ow - 1) * stride + 3 - w, 0)
    p = np.zeros((h + pad_y, w + pad_x, x.shape[2]))
    p[pad_y // 2:pad_y // 2 + h, pad_x // 2:pad_x // 2 + w] = x
    out = np.zeros((oh, ow, filters.shape[3]))
    for i in range(oh):
        for j in range(ow):
            patch = p[i * stride:i * stride + 3, j * stride:j * stride + 3]
            out[i, j] = np.einsum("yxc,yxco->o", patch, filters)
    return out


@pytest.mark.parametrize("size,stride", [(8, 2), (7, 2), (6, 1), (30, 2), (29, 2), (28, 1)])
def test_vectorised_convolutions_match_the_direct_definition(size, stride):
    rng = np.random.default_rng(size + stride)
    x = rng.standard_normal((size, size, 4)).astype(np.float32)
    full = rng.standard_normal((3, 3, 4, 5)).astype(np.float32)
    bias = rng.standard_normal(5).astype(np.float32)
    got = faceapi._conv3x3(x, full, bias, stride)
    assert np.allclose(got, _direct_conv(x, full, stride) + bias, atol=1e-4)
    conv = {"depthwise_filter": rng.standard_normal((3, 3, 4, 1)).astype(np.float32),
            "pointwise_filter": rng.standard_normal((1, 1, 4, 5)).astype(np.float32),
            "bias": bias}
    # a depthwise-separable conv is a full conv whose filter is depthwise × pointwise
    as_full = conv["depthwise_filter"] * conv["pointwise_filter"][0, 0][None, None]
    got = faceapi._separable(x, conv, stride)
    assert np.allclose(got, _direct_conv(x, as_full, stride) + bias, atol=1e-4)


@pytest.fixture(scope="module")
def net():
    return faceapi.FaceApiExpression()


def _posed(name):
    rgb = cv2.cvtColor(cv2.imread(str(sample_path(name, quiet=True))), cv2.COLOR_BGR2RGB)
    lm = find_faces(rgb, max_faces=1)[0][0]
    return rgb, aligned_crop(rgb, lm, 128)[0]


def test_provisioned_net_names_the_happy_and_the_surprised_face(net):
    for name, want in [("0-f15-hao-ph.jpg", "happiness"), ("0-f1-su-ph.jpg", "surprise")]:
        rgb, crop = _posed(name)
        d = max(detector()(rgb), key=lambda d: d.w * d.h)
        gray = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY)  # video crops come from the luma plane
        inputs = [faceapi.crop_input(crop), faceapi.crop_input(gray),
                  faceapi.box_input(rgb, (d.x, d.y, d.w, d.h))]
        for x in inputs:
            assert x.shape == (faceapi.INPUT, faceapi.INPUT, 3)
            p = net.run_input(x)
            assert p.shape == (7,) and np.all(p >= 0) and abs(p.sum() - 1) < 1e-6
            assert faceapi.CLASSES[int(p.argmax())] == want, (name, p.round(2))
        mirrored = net.mirrored(inputs[0])
        assert abs(mirrored.sum() - 1) < 1e-6 and faceapi.CLASSES[int(mirrored.argmax())] == want


def test_classes_are_tells_emotions_in_face_api_order():
    from tells.contract import EMOTIONS

    assert set(faceapi.CLASSES) <= set(EMOTIONS) and len(set(faceapi.CLASSES)) == 7
    named = dict(zip(faceapi.FACEAPI_LABELS, faceapi.CLASSES, strict=True))
    assert named["angry"] == "anger" and named["fearful"] == "fear"
    assert named["disgusted"] == "disgust" and named["sad"] == "sadness"


def test_models_list_shows_the_npm_source(tmp_path):
    p = run_cli("models", "--json")
    assert p.returncode == 0, p.stderr
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    for name in ("face_expression", "face_expression_manifest"):
        assert rows[name]["package"] == "@vladmandic/face-api"
        assert rows[name]["version"] == "1.7.15" and rows[name]["licence"] == "MIT"
        assert rows[name]["status"] == "ok"


def test_corrupt_or_missing_model_is_a_clear_provision_error(tmp_path):
    manifest = tmp_path / "m.json"
    shard = tmp_path / "m.bin"
    shutil.copy(model_path("face_expression_manifest", quiet=True), manifest)
    data = model_path("face_expression", quiet=True).read_bytes()
    shard.write_bytes(data[: len(data) // 2])  # truncated
    with pytest.raises(ProvisionError, match="tells models fetch"):
        faceapi.FaceApiExpression(shard, manifest)
    shard.write_bytes(data + b"\0" * 16)  # longer than the manifest says
    with pytest.raises(ProvisionError, match="tells models fetch"):
        faceapi.FaceApiExpression(shard, manifest)
    shard.write_bytes(data)
    assert faceapi.FaceApiExpression(shard, manifest).run_input(
        np.zeros((112, 112, 3), np.float32)).shape == (7,)
    with pytest.raises(ProvisionError, match="tells models fetch"):
        faceapi.FaceApiExpression(shard, tmp_path / "missing.json")
    manifest.write_text("{not json")
    with pytest.raises(ProvisionError, match="tells models fetch"):
        faceapi.FaceApiExpression(shard, manifest)
    assert MODELS["face_expression"].registry == "npm"
