"""Frames in which a hand lies on a face (for evaluation; not part of the analysis pipeline).

A hand over the face hides and pushes the skin that action units are read from: the brows,
nose and mouth under fingers read whatever the hand does to them, in tells and in any other
coder (WolfgangLanger_Pexels.mp4, 2.4-9.6 s: the two disagree most there). This finds those
frames with mediapipe's bundled hand tracker (palm detector and 21-point hand landmarks, the
``mediapipe`` wheel's own files), so an agreement can be read with and without them.

May import ``tells.io``; nothing from later layers.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np

#: hand landmarks that must lie inside a face's box for the hand to count as on the face
#: (a hand beside the face, or a box corner clipping a finger tip, is not on it)
MIN_POINTS = 3


def hand_on_face_frames(video: str | os.PathLike,
                        boxes: Mapping[int, tuple[float, float, float, float]]) -> list[int]:
    """The frames of ``video`` (tells' frame numbers: decoded frames from 0) in which a hand
    has at least :data:`MIN_POINTS` of its landmarks inside the face's box.

    Parameters
    ----------
    video : the video the boxes were found in.
    boxes : ``{frame: (x, y, width, height)}`` of the face, in source pixels (the ``x``,
        ``y``, ``width``, ``height`` columns of tells' per-frame table); frames without a box
        are not looked at.
    """
    if not boxes:
        return []
    import mediapipe as mp  # noqa: F401  (heavy import, logs at load)
    from mediapipe.python.solutions import hands as mp_hands

    from tells.io.video import open_video

    found: list[int] = []
    last = max(boxes)
    with mp_hands.Hands(static_image_mode=False, max_num_hands=2, model_complexity=0,
                        min_detection_confidence=0.5) as tracker, open_video(video) as source:
        for frame in source:
            if frame.index > last:
                break
            box = boxes.get(frame.index)
            if box is None:
                continue
            result = tracker.process(np.ascontiguousarray(frame.image))
            if not result.multi_hand_landmarks:
                continue
            h, w = frame.image.shape[:2]
            x, y, bw, bh = box
            for hand in result.multi_hand_landmarks:
                pts = np.array([(p.x * w * frame.scale, p.y * h * frame.scale)
                                for p in hand.landmark])
                inside = ((pts[:, 0] >= x) & (pts[:, 0] <= x + bw)
                          & (pts[:, 1] >= y) & (pts[:, 1] <= y + bh))
                if int(inside.sum()) >= MIN_POINTS:
                    found.append(frame.index)
                    break
    return found
