"""Column names of the output contract (DESIGN.md). Changing them needs a version bump."""

from __future__ import annotations

CONTRACT_VERSION = "1"

#: per-frame geometry columns, in order
GEOMETRY_COLUMNS = ["frame", "timestamp", "face_id", "confidence", "success", "x", "y", "width",
                    "height", "pose_Rx", "pose_Ry", "pose_Rz"]
#: quality columns: 1 = problem (face too small, extreme pose, blurred, partly out of frame)
QUALITY_COLUMNS = ["q_small", "q_pose", "q_blur", "q_partial", "sharpness"]

AU_NUMBERS = [1, 2, 4, 5, 6, 7, 9, 10, 12, 14, 15, 17, 20, 23, 24, 25, 26, 28, 43, 45]
AU_R_COLUMNS = [f"AU{n:02d}_r" for n in AU_NUMBERS]
AU_C_COLUMNS = [f"AU{n:02d}_c" for n in AU_NUMBERS]
UNILATERAL_COLUMNS = ["AU12L_r", "AU12R_r", "AU14L_r", "AU14R_r"]
EMOTIONS = ["anger", "contempt", "disgust", "fear", "happiness", "sadness", "surprise",
            "neutral"]

EVENT_COLUMNS = ["face_id", "kind", "onset_frame", "apex_frame", "offset_frame", "onset_t",
                 "apex_t", "offset_t", "duration_s", "aus", "emotion", "confidence",
                 "displayed_emotion", "leakage"]

#: labels other datasets use, mapped to tells' names
LABEL_ALIASES = {"angry": "anger", "happy": "happiness", "sad": "sadness",
                 "surprised": "surprise", "disgusted": "disgust", "fearful": "fear",
                 "scared": "fear", "contemptuous": "contempt", "calm": "neutral"}


def normalise_label(label: str) -> str:
    """Map a dataset's emotion label to tells' name (unknown labels are returned lowered)."""
    key = label.strip().lower()
    return LABEL_ALIASES.get(key, key)
