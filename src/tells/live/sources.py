"""Live capture: cameras, the screen or one window, network streams and files played at their
own pace, all through PyAV (FFmpeg), read in a capture thread into a bounded queue.

When analysis falls behind, a waiting frame is dropped at the source (the queue never grows)
and counted: the one whose loss leaves the shortest hole in the frames analysed, so that they
thin out evenly instead of leaving a hole as long as the time analysis was behind. Every
frame keeps its capture time: ``Frame.t`` is the source's presentation time (PTS, seconds
from the first frame) and :attr:`Capture.captured_at` holds the ``time.monotonic()`` at which
it was captured (for a paced file: when it was due).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator

from tells.errors import InputError
from tells.io.frames import Frame, SourceInfo
from tells.io.video import VideoSource, check_input_file

#: frames that may wait for analysis before one is dropped (enough to thin a stall evenly)
DEFAULT_QUEUE = 6


class DeviceSource(VideoSource):
    """A camera, screen grab or network stream opened by FFmpeg ``url`` with ``fmt`` (an
    input device such as ``x11grab``, ``v4l2``, ``avfoundation``, ``dshow``, ``gdigrab``) and
    its ``options``; frames and times as :class:`tells.io.video.VideoSource` gives them."""

    def __init__(self, url: str, fmt: str | None = None, options: dict | None = None,
                 max_side: int = 1920, label: str | None = None):
        import av

        self.path, self.max_side, self._rotation_checked = url, max_side, False
        label = label or url
        try:
            self._container = av.open(url, format=fmt, options=options or {}, timeout=10.0)
        except (av.error.FFmpegError, OSError, ValueError) as exc:
            raise InputError(f"{label}: cannot open ({exc})") from None
        if not self._container.streams.video:
            self._container.close()
            raise InputError(f"{label}: has no video stream")
        self._stream = s = self._container.streams.video[0]
        rate = s.average_rate or s.guessed_rate or s.base_rate
        self.info = SourceInfo(path=label, width=s.codec_context.width,
                               height=s.codec_context.height, fps=float(rate) if rate else 0.0,
                               duration_s=None, frame_count=None, codec=s.codec_context.name)


class _DropQueue:
    """Bounded hand-over between the capture thread and analysis: a full queue drops a frame
    (``drop=True``) or makes the producer wait (``drop=False``).

    The frame dropped is the waiting one whose loss leaves the shortest hole in the frames
    analysed (between the frames before and after it; the frame taken last counts as the one
    before the oldest; of equal holes the oldest), never the newest: when analysis falls
    behind, the frames it gets are thinned evenly over the time it was behind instead of
    cut to the last few, so a face's rows keep no hole longer than they must (the spotter
    treats a hole over ``SpotParams.gap_s`` as a break in the track)."""

    def __init__(self, size: int, drop: bool):
        self.items: deque = deque()
        self.size, self.drop = max(1, size), drop
        self.cond = threading.Condition()
        self.dropped: list[int] = []  # indices of dropped frames not yet taken
        self.n_dropped = 0
        self.closed = False
        self.last_t: float | None = None  # time of the frame taken last

    def put(self, item) -> None:
        with self.cond:
            while not self.drop and len(self.items) >= self.size and not self.closed:
                self.cond.wait(0.1)
            if len(self.items) >= self.size:
                k = self._victim(item.t)
                self.dropped.append(self.items[k].index)
                del self.items[k]
                self.n_dropped += 1
            self.items.append(item)
            self.cond.notify_all()

    def _victim(self, new_t: float) -> int:
        """Position of the waiting frame to drop for a new one at ``new_t``."""
        if self.last_t is None:  # nothing analysed yet: no hole to leave
            return 0
        times = [self.last_t] + [f.t for f in self.items] + [new_t]
        holes = [times[i + 2] - times[i] for i in range(len(self.items))]
        return holes.index(min(holes))

    def get(self):
        with self.cond:
            while not self.items and not self.closed:
                self.cond.wait(0.1)
            item = self.items.popleft() if self.items else None
            if item is not None:
                self.last_t = item.t
            self.cond.notify_all()
            return item

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify_all()


class Capture:
    """Reads ``source`` in a thread and hands frames over through a bounded queue.

    Parameters
    ----------
    source : a :class:`VideoSource` or :class:`DeviceSource`.
    paced : release each frame when it is due by its timestamp (a file played in real time).
    drop : drop the oldest waiting frame when analysis falls behind (live sources); ``False``
        makes capture wait instead (a file analysed as fast as possible, nothing dropped).
    queue_size : frames that may wait.
    description : how the source is named in outputs (``camera 0``, ``screen``, a path).
    """

    def __init__(self, source, paced: bool = False, drop: bool = True,
                 queue_size: int = DEFAULT_QUEUE,
                 description: str = ""):
        self.source, self.paced = source, paced
        self.info: SourceInfo = source.info
        self.description = description or str(source.info.path)
        self.kind = "file"
        self._queue = _DropQueue(queue_size, drop)
        self._stop = threading.Event()
        self.captured = 0
        self.captured_at: dict[int, float] = {}
        #: monotonic time at which the frame at media time ``origin_t`` was released (a paced
        #: file's clock: frame t is due at ``started_at + t - origin_t``)
        self.started_at: float | None = None
        self.origin_t = 0.0
        self.error: str | None = None
        self.ended = False  # the source itself ended (end of file or stream)
        #: set once analysis has finished its first frame (models loaded): a paced file waits
        #: for it, and frames a live source drops before it are counted apart
        self.primed = threading.Event()
        self.warmup_dropped = 0
        self._thread = threading.Thread(target=self._work, name="tells-capture", daemon=True)

    @property
    def dropped(self) -> int:
        """Frames dropped at the source once analysis was running (after warm-up)."""
        return self._queue.n_dropped - self.warmup_dropped

    def prime(self) -> None:
        """Analysis is running (called after its first frame)."""
        if not self.primed.is_set():
            self.warmup_dropped = self._queue.n_dropped
            self.primed.set()

    def take_dropped(self) -> list[int]:
        """Indices of the frames dropped since the last call (their capture times are
        forgotten)."""
        with self._queue.cond:
            out, self._queue.dropped = self._queue.dropped, []
        for i in out:
            self.captured_at.pop(i, None)
        return out

    def start(self) -> Capture:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop capturing; analysis finishes the frames already waiting."""
        self._stop.set()

    def _work(self) -> None:
        first_t = None
        try:
            for n, frame in enumerate(self.source):
                if self._stop.is_set():
                    break
                now = time.monotonic()
                if first_t is None:
                    first_t, self.started_at = frame.t, now
                elif self.paced and n >= 2 and not self.primed.is_set():
                    # the clock starts when analysis has its models loaded (the pipeline
                    # finishes a frame when it has the next one: two frames go first)
                    while not self.primed.wait(0.05):
                        if self._stop.is_set():
                            break
                    now = time.monotonic()
                    first_t, self.started_at = frame.t, now
                self.origin_t = first_t
                if self.paced:
                    due = self.started_at + (frame.t - first_t)
                    while not self._stop.is_set() and (wait := due - time.monotonic()) > 0:
                        time.sleep(min(wait, 0.05))
                    if self._stop.is_set():
                        break
                    now = time.monotonic()
                self.captured_at[frame.index] = now
                self.captured += 1
                self._queue.put(frame)
            else:
                self.ended = True
        except Exception as exc:  # handed to the consumer as one line
            self.error = f"{self.description}: capture failed ({type(exc).__name__}: {exc})"
        finally:
            self._queue.close()

    def __iter__(self) -> Iterator[Frame]:
        if not self._thread.is_alive() and not self._queue.closed:
            self.start()
        while True:
            frame = self._queue.get()
            if frame is None:
                return
            yield frame

    def close(self) -> None:
        self._stop.set()
        self._queue.close()
        self._thread.join(timeout=5)
        self.source.close()


# -- opening the sources -----------------------------------------------------------------------

def _geometry(text: str) -> tuple[int, int, int, int]:
    try:
        x, y, w, h = (int(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--screen takes X,Y,W,H in pixels, not {text!r}") from None
    if w < 16 or h < 16 or x < 0 or y < 0:
        raise InputError(f"--screen {text}: the area must be at least 16×16 pixels on screen")
    return x, y, w - w % 2, h - h % 2


def find_window(title: str) -> tuple[int, int, int, int]:
    """Screen geometry (x, y, w, h) of the first X11 window whose title contains ``title``."""
    if not shutil.which("xwininfo"):
        raise InputError("--window needs xwininfo (Debian package x11-utils)")
    try:
        tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True,
                              timeout=10)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InputError(f"cannot list the windows ({exc})") from None
    if tree.returncode != 0:
        raise InputError(f"cannot list the windows: {tree.stderr.strip() or 'no X display'}")
    line_re = re.compile(r'^\s*0x[0-9a-f]+ "(?P<name>[^"]*)".*?(?P<w>\d+)x(?P<h>\d+)'
                         r'[+-]-?\d+[+-]-?\d+\s+\+(?P<x>-?\d+)\+(?P<y>-?\d+)\s*$')
    for line in tree.stdout.splitlines():
        m = line_re.match(line)
        if m and title.lower() in m["name"].lower() and int(m["w"]) >= 16 and int(m["h"]) >= 16:
            x, y, w, h = (max(0, int(m[k])) for k in ("x", "y", "w", "h"))
            return x, y, w - w % 2, h - h % 2
    raise InputError(f"no window whose title contains {title!r} (is it open on "
                     f"{os.environ.get('DISPLAY', 'the display')}?)")


def open_capture(kind: str, value: str | None, *, realtime: bool = False, fps: float = 30.0,
                 max_side: int = 1920, queue_size: int = DEFAULT_QUEUE) -> Capture:
    """The :class:`Capture` for one of the ``tells live`` sources.

    ``kind`` is ``camera`` (``value``: device number or name), ``screen`` (``value``: empty for
    the whole screen or ``X,Y,W,H``), ``window`` (title), ``stream`` (URL) or ``file`` (path;
    ``realtime`` plays it at its own pace and drops frames like a live source)."""
    rate = {"framerate": f"{fps:g}"}
    plat = sys.platform
    if kind == "file":
        src = VideoSource(check_input_file(value), max_side=max_side)
        cap = Capture(src, paced=realtime, drop=realtime, queue_size=queue_size,
                      description=str(value))
    elif kind == "camera":
        n = value or "0"
        if plat.startswith("linux"):
            dev = n if n.startswith("/dev/") else f"/dev/video{n}"
            src = DeviceSource(dev, "v4l2", rate, max_side, f"camera {dev}")
        elif plat == "darwin":
            src = DeviceSource(f"{n}:none", "avfoundation", rate, max_side, f"camera {n}")
        elif plat == "win32":
            src = DeviceSource(f"video={n}", "dshow", rate, max_side, f"camera {n}")
        else:
            raise InputError(f"--camera is not supported on {plat}")
        cap = Capture(src, paced=realtime, queue_size=queue_size, description=f"camera {n}")
    elif kind in ("screen", "window"):
        if kind == "window" and not value:
            raise InputError("--window needs a window title")
        if plat.startswith("linux"):
            display = os.environ.get("DISPLAY")
            if not display:
                raise InputError(f"--{kind} needs an X display (DISPLAY is not set)")
            geo = (find_window(value) if kind == "window"
                   else _geometry(value) if value else None)
            opts = dict(rate, draw_mouse="0")
            url = display
            if geo is not None:
                url = f"{display}+{geo[0]},{geo[1]}"
                opts["video_size"] = f"{geo[2]}x{geo[3]}"
            src = DeviceSource(url, "x11grab", opts, max_side, f"{kind} {value or display}")
        elif plat == "win32":
            opts = dict(rate)
            if kind == "screen" and value:
                x, y, w, h = _geometry(value)
                opts.update(offset_x=str(x), offset_y=str(y), video_size=f"{w}x{h}")
            url = f"title={value}" if kind == "window" else "desktop"
            src = DeviceSource(url, "gdigrab", opts, max_side, f"{kind} {value or ''}".strip())
        elif plat == "darwin" and kind == "screen":
            src = DeviceSource("Capture screen 0:none", "avfoundation",
                               dict(rate, capture_cursor="0"), max_side, "screen")
        else:
            raise InputError(f"--{kind} is not supported on {plat} (FFmpeg has no window "
                             "capture there; use --screen)")
        cap = Capture(src, paced=realtime, queue_size=queue_size,
                      description=f"{kind} {value}" if value else kind)
    elif kind == "stream":
        opts = {"rtsp_transport": "tcp"} if value.startswith("rtsp") else {}
        src = DeviceSource(value, None, opts, max_side, value)
        cap = Capture(src, paced=realtime, queue_size=queue_size, description=value)
    else:
        raise InputError(f"unknown live source {kind!r}")
    cap.kind = kind
    return cap
