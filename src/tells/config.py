"""Settings: one frozen dataclass passed down the pipeline (no globals)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, replace
from pathlib import Path


def tells_home() -> Path:
    """Cache root for models and sample media: ``$TELLS_HOME`` or the user cache directory."""
    env = os.environ.get("TELLS_HOME")
    if env:
        return Path(env).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("tells", appauthor=False))


@dataclass(frozen=True)
class Settings:
    """Analysis settings. Times are in seconds so any frame rate works."""

    max_faces: int = 8
    #: minimum confidence of the full-range detector for a new face
    detect_confidence: float = 0.5
    #: seconds between full-frame detection passes looking for new faces; while they find no
    #: one new and no face is lost, the interval doubles up to ``detect_interval_max_s``
    detect_interval_s: float = 0.5
    detect_interval_max_s: float = 1.0
    #: a lost face keeps its id if it reappears within this many seconds
    track_keep_s: float = 1.0
    #: a lost face is looked for again in the region where it was, on every frame, for this
    #: long; meanwhile the whole frame is searched every ``lost_detect_interval_s``
    lost_search_s: float = 2.0
    lost_detect_interval_s: float = 0.1
    #: expected number of people (``tells analyze --faces N``); ``None``: not known
    expected_faces: int | None = None
    #: re-identify people who come back after a gap from a face descriptor
    reid: bool = True
    #: descriptor distance (dlib scale) under which a returning face gets its earlier id, if
    #: it is also at least ``reid_margin`` nearer to that person than to anyone else
    reid_distance: float = 0.5
    reid_margin: float = 0.06
    #: side of the aligned canonical face crop in pixels
    crop_size: int = 128
    #: quality thresholds
    min_face_px: int = 48
    max_yaw_rad: float = 0.6
    max_pitch_rad: float = 0.5
    blur_threshold: float = 15.0
    #: frames whose longer side exceeds this are downscaled for analysis (4K → 1920)
    max_side: int = 1920
    #: work on neighbouring frames at once: decode ahead in a second thread, and mesh the next
    #: frame while the stages work on this one (faster for one video; batch workers, one video
    #: per core, turn it off so processes do not compete for cores)
    overlap: bool = True

    def to_dict(self) -> dict:
        return asdict(self)

    def with_(self, **changes) -> Settings:
        return replace(self, **changes)
