"""The frame record and the source interface every input (file, webcam, screen) implements."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass(slots=True)
class Frame:
    """One decoded frame: ``index`` counts decoded frames from 0, ``t`` is the presentation
    time in seconds (from the container's timestamps, never index/fps), ``image`` is RGB uint8
    (H, W, 3) at analysis resolution; ``scale`` maps analysis pixels back to source pixels.
    ``gray`` is the luma plane (H, W) when the decoder had it for free (full-range), else
    ``None``."""

    index: int
    t: float
    image: np.ndarray
    scale: float = 1.0
    gray: np.ndarray | None = None


@dataclass
class SourceInfo:
    path: str
    width: int  # source pixels, after rotation
    height: int
    fps: float  # nominal average rate (for display only; timing uses t)
    duration_s: float | None
    frame_count: int | None  # container's estimate, may be None or wrong
    codec: str = ""
    rotation: int = 0
    #: problems met while decoding (e.g. a truncated stream); results before them are kept
    warnings: list[str] = field(default_factory=list)


class FrameSource(Protocol):
    """Anything that yields :class:`Frame` objects in time order (files, webcams, screens)."""

    info: SourceInfo

    def __iter__(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...
