"""The FACS test oracle: warp sample faces with one action unit at B and C intensity and check
that the action unit is read back, and that it is not read on the unwarped faces.

Each face is measured against its own unwarped measurement and aligned crop as the neutral
(what the video pipeline does with a person's neutral measurements and neutral image). The unwarped check re-detects a slightly moved, rotated,
rescaled and JPEG re-encoded copy of the face, so mesh noise is what a false positive would come
from. ``cross`` counts other action units that light up with the warped one. Detection is
also counted over the faces within the pipeline's pose limit alone (``*_frontal``): a face
turned further is flagged ``q_pose`` in video, and spotting leaves out events on such frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from tells.contract import AU_NUMBERS
from tells.facs.aus import intensities
from tells.facs.features import measure
from tells.facs.motion import crop_points, gray, motion_evidence
from tells.facs.synth import synth_face

LEVELS = {"B": 2.0, "C": 3.0}


@dataclass
class OracleRow:
    au: int
    detected: dict[str, int] = field(default_factory=lambda: {k: 0 for k in LEVELS})
    tried: dict[str, int] = field(default_factory=lambda: {k: 0 for k in LEVELS})
    intensity: dict[str, list[float]] = field(default_factory=lambda: {k: [] for k in LEVELS})
    false_pos: int = 0
    unwarped: int = 0
    cross: int = 0
    #: the same counts over the faces within the pipeline's pose limit (not flagged ``q_pose``)
    detected_frontal: dict[str, int] = field(default_factory=lambda: {k: 0 for k in LEVELS})
    tried_frontal: dict[str, int] = field(default_factory=lambda: {k: 0 for k in LEVELS})

    def as_dict(self) -> dict:
        def ratio(a: int, b: int):
            return round(a / b, 3) if b else None

        return {"au": f"AU{self.au:02d}",
                **{f"detect_{k}": ratio(self.detected[k], self.tried[k]) for k in LEVELS},
                **{f"detect_{k}_frontal": ratio(self.detected_frontal[k], self.tried_frontal[k])
                   for k in LEVELS},
                **{f"mean_{k}": round(float(np.mean(v)), 2) if v else None
                   for k, v in self.intensity.items()},
                "false_positive": round(self.false_pos / self.unwarped, 3) if self.unwarped
                else None,
                "cross_talk": round(self.cross / max(1, sum(self.tried.values())), 3),
                "faces": self.tried["C"], "faces_frontal": self.tried_frontal["C"],
                "unwarped": self.unwarped}


def _read(image: np.ndarray):
    """(aligned, crop, yaw) of the largest face, or None."""
    from tells.config import Settings
    from tells.face.still import find_faces
    from tells.face.track import observe

    faces = find_faces(image, max_faces=3)
    if not faces:
        return None
    lm = max(faces, key=lambda f: np.ptp(f[0][:, 0]) * np.ptp(f[0][:, 1]))[0]
    obs = observe(0, 0, 0.0, image, lm, 1.0, Settings())
    return obs, lm


def _measure(image: np.ndarray):
    """(measurements, gray aligned crop, mesh in crop pixels) of the largest face, or None."""
    got = _read(image)
    if got is None:
        return None
    obs, _ = got
    return (measure(obs.aligned, obs.crop, obs.pose[1]), gray(obs.crop),
            crop_points(obs.landmarks, obs.crop_matrix))


def _intensities(got, neutral) -> dict[str, float]:
    """Read a face against the unwarped face: its measurements and its crop as the neutral
    image (what the video pipeline builds from a person's calm frames)."""
    x, g, pts = got
    return intensities(x, neutral[0], motion_evidence(neutral[1], g, pts))


def _au_value(aus: dict[str, float], au: int) -> float:
    if au in (12, 14):
        return max(aus[f"AU{au}L"], aus[f"AU{au}R"])
    return aus[f"AU{au:02d}"]


def perturb(image: np.ndarray, seed: int) -> np.ndarray:
    """A slightly moved (±2 %), rotated (±3°), rescaled (±4 %), JPEG-recoded copy."""
    rng = np.random.default_rng(seed)
    h, w = image.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-3, 3), rng.uniform(0.96, 1.04))
    m[:, 2] += rng.uniform(-0.02, 0.02, 2) * np.array([w, h])
    out = cv2.warpAffine(image, m, (w, h), borderMode=cv2.BORDER_REPLICATE)
    ok, buf = cv2.imencode(".jpg", out[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    return cv2.imdecode(buf, cv2.IMREAD_COLOR)[..., ::-1].copy()


def run_oracle(images: list[np.ndarray], aus: list[int] | None = None, perturbations: int = 2,
               progress: Callable[[int], None] | None = None) -> list[OracleRow]:
    """Score every action unit on every face image (see module docstring).

    Parameters
    ----------
    images : RGB photos or frames, one face each (the largest face is used).
    aus : action units to test (default all of the contract's).
    perturbations : unwarped re-detections per face for the false-positive rate.
    """
    aus = list(aus or AU_NUMBERS)
    rows = {a: OracleRow(a) for a in aus}
    for img in images:
        got = _read(img)
        if got is None:
            continue
        obs, lm = got
        frontal = not obs.quality["pose"]
        neutral = measure(obs.aligned, obs.crop, obs.pose[1]), gray(obs.crop)
        for k in range(perturbations):
            x = _measure(perturb(img, k))
            if x is None:
                continue
            read = _intensities(x, neutral)
            for a in aus:
                rows[a].unwarped += 1
                rows[a].false_pos += _au_value(read, a) >= 1.0
        for a in aus:
            for letter, level in LEVELS.items():
                warped = synth_face(img, {f"AU{a:02d}": level}, landmarks=lm)
                x = _measure(warped)
                if progress:
                    progress(1)
                rows[a].tried[letter] += 1
                rows[a].tried_frontal[letter] += frontal
                if x is None:
                    continue
                read = _intensities(x, neutral)
                v = _au_value(read, a)
                rows[a].detected[letter] += v >= 1.0
                rows[a].detected_frontal[letter] += frontal and v >= 1.0
                rows[a].intensity[letter].append(v)
                others = [b for b in AU_NUMBERS if b != a and not _coupled(a, b)]
                rows[a].cross += any(_au_value(read, b) >= 1.0 for b in others)
    return [rows[a] for a in aus]


#: action units that FACS itself couples (a warp of one legitimately moves the other)
COUPLED = [{43, 45}, {25, 26}, {6, 7}, {9, 10}, {23, 24, 28}, {1, 2}]


def _coupled(a: int, b: int) -> bool:
    return any(a in g and b in g for g in COUPLED)


def oracle_images() -> list[np.ndarray]:
    """The sample faces the oracle uses: the four posed photos, single_face.jpg, frame 0 of
    single_face.mp4 and frames 0 and 300 of WolfgangLanger_Pexels.mp4."""
    from tells.io.image import read_image
    from tells.io.samples import POSED_PHOTOS, sample_path
    from tells.io.video import open_video

    imgs = [read_image(sample_path(n)) for n in [*POSED_PHOTOS, "single_face.jpg"]]
    for name, wanted in (("single_face.mp4", {0}), ("WolfgangLanger_Pexels.mp4", {0, 300})):
        with open_video(sample_path(name)) as src:
            for frame in src:
                if frame.index in wanted:
                    imgs.append(frame.image)
                if frame.index >= max(wanted):
                    break
    return imgs
