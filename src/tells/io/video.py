"""Video files through FFmpeg (PyAV) with true presentation timestamps.

Variable frame rate is real: ``Frame.t`` comes from each frame's PTS. Rotation metadata is
applied. Frames larger than ``max_side`` are downscaled for analysis (``Frame.scale`` maps back).
A stream that breaks part way (truncated file, corrupt packets) ends the iteration early with
a warning in ``info.warnings``; the frames before it are kept.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from tells.errors import InputError
from tells.io.frames import Frame, SourceInfo

VIDEO_EXTENSIONS = {".mp4", ".mov", ".m4v", ".mkv", ".webm", ".avi", ".mpg", ".mpeg", ".wmv",
                    ".flv", ".3gp", ".ts", ".mts"}
_FAST_FORMATS = {"yuv420p", "yuvj420p"}


def check_input_file(path: str | os.PathLike) -> Path:
    """Raise :class:`InputError` unless ``path`` is an existing, non-empty regular file."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file")
    if p.is_dir():
        raise InputError(f"{p}: is a directory, not a video file (tells batch takes folders)")
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: not readable (check its permissions)")
    if p.stat().st_size == 0:
        raise InputError(f"{p}: the file is empty")
    return p


class VideoSource:
    """Iterate a video file's frames as RGB arrays with PTS-based times.

    Parameters
    ----------
    path : path of the video file.
    max_side : frames whose longer side exceeds this are downscaled for analysis.
    threads : decoder threads (``0`` lets FFmpeg choose).
    """

    def __init__(self, path: str | os.PathLike, max_side: int = 1920, threads: int = 0):
        import av

        self.path = check_input_file(path)
        self.max_side = max_side
        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
        except av.error.InvalidDataError:
            raise InputError(f"{self.path}: not a video file FFmpeg can read") from None
        except (av.error.FFmpegError, OSError, UnicodeDecodeError) as exc:
            raise InputError(f"{self.path}: cannot open as video ({exc})") from None
        streams = self._container.streams.video
        if not streams:
            kinds = sorted({s.type for s in self._container.streams})
            self._container.close()
            what = f"only {', '.join(kinds)} streams" if kinds else "no streams"
            raise InputError(f"{self.path}: has no video stream ({what})")
        self._stream = s = streams[0]
        s.thread_type = "AUTO"
        if threads:
            s.codec_context.thread_count = threads
        rate = s.average_rate or s.guessed_rate or s.base_rate
        fps = float(rate) if rate else 0.0
        duration = None
        if s.duration is not None and s.time_base is not None:
            duration = float(s.duration * s.time_base)
        elif self._container.duration:
            duration = self._container.duration / 1_000_000
        w, h = s.codec_context.width, s.codec_context.height
        if not w or not h:
            self._container.close()
            raise InputError(f"{self.path}: the video stream has no frame size (corrupt header)")
        self.info = SourceInfo(
            path=str(self.path), width=w, height=h, fps=fps, duration_s=duration,
            frame_count=s.frames or None, codec=s.codec_context.name,
        )
        self._rotation_checked = False

    def _to_rgb(self, frame) -> tuple[np.ndarray, np.ndarray | None]:
        """RGB image and, for planar 4:2:0 input, the luma plane as a full-range gray image."""
        gray = None
        if frame.format.name in _FAST_FORMATS and frame.width % 2 == 0 and frame.height % 2 == 0:
            yuv = frame.to_ndarray()
            img = cv2.cvtColor(yuv, cv2.COLOR_YUV2RGB_I420)
            gray = yuv[: frame.height]
            if frame.format.name == "yuv420p":  # limited range (16-235) to full range
                gray = cv2.convertScaleAbs(gray, alpha=255 / 219, beta=-16 * 255 / 219)
        else:
            img = frame.to_ndarray(format="rgb24")
        rot = self.info.rotation
        if rot:
            img = np.ascontiguousarray(np.rot90(img, k=rot // 90))
            gray = None if gray is None else np.ascontiguousarray(np.rot90(gray, k=rot // 90))
        return img, gray

    def _check_rotation(self, frame) -> None:
        self._rotation_checked = True
        rot = int(round(getattr(frame, "rotation", 0) or 0)) % 360
        rot = rot if rot in (90, 180, 270) else 0
        self.info.rotation = rot
        if rot in (90, 270):
            self.info.width, self.info.height = self.info.height, self.info.width

    def __iter__(self) -> Iterator[Frame]:
        import av

        tb = self._stream.time_base
        index = 0
        last_t = -1.0
        start = self._stream.start_time
        try:
            for frame in self._container.decode(self._stream):
                if not self._rotation_checked:
                    self._check_rotation(frame)
                if frame.pts is not None and tb is not None:
                    t = float((frame.pts - (start or 0)) * tb)
                elif frame.time is not None:
                    t = float(frame.time)
                else:  # no timestamps at all: fall back to the nominal rate
                    t = index / self.info.fps if self.info.fps else float(index)
                if t <= last_t:  # repeated or disordered PTS: keep time strictly increasing
                    t = last_t + 1e-6
                last_t = t
                img, gray = self._to_rgb(frame)
                scale = 1.0
                side = max(img.shape[:2])
                if side > self.max_side:
                    scale = side / self.max_side
                    size = (round(img.shape[1] / scale), round(img.shape[0] / scale))
                    img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
                    gray = None
                yield Frame(index, t, img, scale, gray)
                index += 1
        except (av.error.FFmpegError, ValueError) as exc:
            self.info.warnings.append(
                f"decoding stopped after {index} frames ({type(exc).__name__}: {exc}); "
                "the file looks truncated or corrupt"
            )
        announced = self.info.frame_count
        if index == 0 and not self.info.warnings:
            self.info.warnings.append("the video stream holds no decodable frames")
        elif not self.info.warnings and announced and announced - index > max(5, announced // 30):
            self.info.warnings.append(
                f"the stream ended after {index} of the {announced} frames its header "
                "announces; the file looks truncated"
            )
        elif (not self.info.warnings and not announced and self.info.duration_s
              and last_t < self.info.duration_s - max(0.5, 0.05 * self.info.duration_s)):
            self.info.warnings.append(
                f"the stream ended at {last_t:.2f} s of the {self.info.duration_s:.2f} s its "
                "header announces; the file looks truncated"
            )
        self.info.frame_count = index

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoSource:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(path: str | os.PathLike, max_side: int = 1920) -> VideoSource:
    """Open a video file for frame-by-frame reading (see :class:`VideoSource`)."""
    return VideoSource(path, max_side=max_side)
