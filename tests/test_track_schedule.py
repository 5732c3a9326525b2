"""How often the tracker looks at the whole frame: less in a steady scene, and a face that
appears later is still picked up within ``detect_interval_max_s``."""

from __future__ import annotations

import numpy as np

from tells.config import Settings
from tells.face.track import FaceTracker
from tells.io.image import read_image
from tells.io.samples import sample_path

FPS = 30


def _frames():
    """Three faces of multi_face.jpg for 2 s, then a fourth one uncovered (x 681..797)."""
    img = read_image(sample_path("multi_face.jpg"))[:666, :1000]
    hidden = img.copy()
    hidden[:, 660:820] = 0
    hidden[:, :300] = 0
    hidden[300:, 500:] = 0  # leaves the faces at x 313 and 432 (and one at 222, y 78: gone)
    steady = [hidden] * (2 * FPS)
    return steady + [img] * (2 * FPS)


def _track(settings: Settings):
    tracker = FaceTracker(settings)
    counts, detections = [], []
    for i, image in enumerate(_frames()):
        faces = tracker.update(image, i / FPS)
        counts.append(len(faces))
        detections.append(tracker.detections_run)
    tracker.close()
    return np.array(counts), np.array(detections)


def test_steady_scene_is_searched_less_and_a_new_face_is_still_found_in_time():
    fixed_counts, fixed = _track(Settings(detect_interval_max_s=0.5))
    counts, backoff = _track(Settings())
    before = 2 * FPS
    assert fixed_counts[before - 1] == counts[before - 1] >= 2
    # the steady first two seconds: fewer whole-frame passes than every 0.5 s
    assert backoff[before - 1] < fixed[before - 1]
    # the faces uncovered at 2 s are tracked within detect_interval_max_s (+ one frame)
    late = int(Settings().detect_interval_max_s * FPS) + 1
    assert counts[before + late] > counts[before - 1]
    assert counts[-1] == fixed_counts[-1] == 5
