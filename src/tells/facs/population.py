"""Build the population neutral face (``data/population_neutral.json``).

The neutral measurements are medians over the sample faces: the resting frames of the videos
(single_face.mp4 frames 0–15, WolfgangLanger_Pexels.mp4 frames 0–2), every face in the sample
stills and the project's reference face; mouth measurements only over faces with closed lips
(most sample stills smile or gape). Left and right are averaged (the population face is
symmetric). ``tolerance`` says how far one person's neutral may sit
from it (identity: brow height, lip thickness, eye size); set by judgement from the spread of
the sample faces and at least three times the mesh jitter on a still face.

Run: ``python -m tells.facs.population`` (needs the sample media).
"""

from __future__ import annotations

import json

import numpy as np

from tells.facs.baseline import DATA
from tells.facs.features import N_GEOMETRY, NAMES, measure

#: identity tolerance by measurement-name prefix (eye-corner-distance units; texture: ratio)
TOLERANCE = {
    "brow_in_raise": 0.03, "brow_out_raise": 0.03, "brow_squeeze": 0.03, "lid_up": 0.025,
    "lid_lo_raise": 0.012, "eye_open": 0.03, "cheek_raise": 0.025, "nose_wing_raise": 0.035,
    "upper_lip_raise": 0.03, "corner_raise": 0.03, "corner_out": 0.04, "corner_back": 0.03,
    "lip_thick": 0.04, "lip_gap": 0.01, "jaw_drop": 0.05, "chin_raise": 0.04,
    "tex_glabella": 0.02, "tex_nose": 0.015, "tex_crow": 0.04, "tex_forehead": 0.02,
}


STILLS = ["single_face.jpg", "multi_face.jpg", "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg",
          "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg"]
MOUTH = ("upper_lip", "corner", "lip_", "jaw", "chin")


def tolerance_of(name: str) -> float:
    for prefix, v in TOLERANCE.items():
        if name.startswith(prefix):
            return v
    raise KeyError(name)


def build() -> dict:
    """Measure the resting sample frames and return the JSON document."""
    from tells.config import Settings
    from tells.face.geometry import reference_shape
    from tells.face.track import FaceTracker, observe
    from tells.io.samples import sample_path
    from tells.io.video import open_video

    groups = []
    for name, frames in (("single_face.mp4", range(0, 16)), ("WolfgangLanger_Pexels.mp4",
                                                            range(0, 3))):
        settings = Settings()
        tracker = FaceTracker(settings)
        rows = []
        with open_video(sample_path(name)) as src:
            for frame in src:
                if frame.index > max(frames):
                    break
                for fid, lm, conf in tracker.update(frame.image, frame.t):
                    obs = observe(fid, frame.index, frame.t, frame.image, lm, conf, settings)
                    rows.append(measure(obs.aligned, obs.crop))
        tracker.close()
        groups.append(np.median(np.array(rows), axis=0))
    from tells.api import analyze_image

    for name in STILLS:
        for face in analyze_image(sample_path(name)):
            if abs(face.pose[1]) < 0.45:
                groups.append(measure(face.aligned, face.crop))
    ref = measure(reference_shape())
    ref[NAMES.index("lip_gap")] = 0.0
    ref[N_GEOMETRY:] = np.nan  # a mesh has no texture
    faces = np.array(groups + [ref])
    closed = faces[:, NAMES.index("lip_gap")] < 0.02
    mouth = np.array([n.startswith(MOUTH) for n in NAMES])
    neutral = np.where(mouth, np.nanmedian(faces[closed], axis=0), np.nanmedian(faces, axis=0))
    for i, n in enumerate(NAMES):  # the population face is symmetric
        if n.endswith("_R"):
            j = NAMES.index(n[:-2] + "_L")
            neutral[i] = neutral[j] = 0.5 * (neutral[i] + neutral[j])
    return {
        "sources": ["single_face.mp4 frames 0-15", "WolfgangLanger_Pexels.mp4 frames 0-2",
                    *STILLS, "tells reference face (mouth closed)"],
        "neutral": {n: round(float(v), 5) for n, v in zip(NAMES, neutral, strict=True)},
        "tolerance": {n: tolerance_of(n) for n in NAMES},
    }


if __name__ == "__main__":
    DATA.parent.mkdir(parents=True, exist_ok=True)
    DATA.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {DATA}")
