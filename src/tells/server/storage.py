"""Where the workspace keeps files, and how an upload gets there.

Under the data folder: ``media/<h2>/<sha256><ext>`` (recordings, named by their content, as
the batch catalogue names inputs), ``analyses/<sha256>/`` (a ``tells analyze`` result folder
for that content), ``reports/<recording id>/`` (a recording's own report when it has a
transcript or agenda), ``context/<recording id>/`` (its transcript and agenda files),
``staging/`` (half-written uploads and results; cleared at start) and ``packs/`` (the trainer's
stimulus library).

An upload is a multipart body streamed to a file in ``staging/`` while its SHA-256 is
computed, stopped as soon as it passes the size limit; whether it is a video is decided by
decoding a frame with FFmpeg (PyAV), never by its name or declared type.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tells.errors import InputError, OutputError

#: container format (PyAV's first name) -> extension of the stored file
_EXT = {"mov": ".mp4", "matroska": ".mkv", "avi": ".avi", "mpeg": ".mpg", "mpegts": ".ts",
        "flv": ".flv", "asf": ".wmv", "ogg": ".ogv"}
SMALL_FILE_LIMIT = 2_000_000  # transcript / agenda


@dataclass(frozen=True)
class Layout:
    """The folders of one workspace's data folder."""

    root: Path

    @property
    def media(self) -> Path:
        return self.root / "media"

    @property
    def analyses(self) -> Path:
        return self.root / "analyses"

    @property
    def reports(self) -> Path:
        return self.root / "reports"

    @property
    def context(self) -> Path:
        return self.root / "context"

    @property
    def staging(self) -> Path:
        return self.root / "staging"

    @property
    def packs(self) -> Path:
        return self.root / "packs"

    def create(self) -> Layout:
        try:
            for p in (self.media, self.analyses, self.reports, self.context, self.staging, self.packs):
                p.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(f"{self.root}: cannot create the data folder ({exc.strerror})") from None
        return self

    def clear_staging(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
        self.staging.mkdir(parents=True, exist_ok=True)

    def media_path(self, content_hash: str, ext: str) -> Path:
        return self.media / content_hash[:2] / f"{content_hash}{ext}"

    def analysis_dir(self, content_hash: str) -> Path:
        return self.analyses / content_hash


@dataclass
class UploadedFile:
    filename: str
    path: Path | None = None
    data: bytearray = field(default_factory=bytearray)
    size: int = 0
    sha256: str = ""


class UploadTooLarge(InputError):
    pass


async def receive_multipart(request, staging: Path, file_field: str, limit: int,
                            ) -> tuple[dict[str, str], dict[str, UploadedFile]]:
    """Stream a ``multipart/form-data`` body: ``file_field`` goes to a file in ``staging``
    (hashed on the way), other files (at most 2 MB) and text fields stay in memory.

    Raises
    ------
    UploadTooLarge
        The file passed ``limit`` bytes (what was written is removed).
    InputError
        Not a multipart body, or a malformed one.
    """
    from python_multipart.multipart import MultipartParser, parse_options_header

    ctype, opts = parse_options_header(request.headers.get("content-type", ""))
    if ctype != b"multipart/form-data" or b"boundary" not in opts:
        raise InputError("send the upload as multipart/form-data")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit + SMALL_FILE_LIMIT * 2:
        raise UploadTooLarge(f"the file is larger than the limit of {limit // 1_000_000} MB")
    fields: dict[str, str] = {}
    files: dict[str, UploadedFile] = {}
    st: dict = {"headers": {}, "hname": b"", "hval": b""}

    def on_part_begin():
        st.update(headers={}, hname=b"", hval=b"", name=None, file=None, buf=bytearray(),
                  out=None, h=None)

    def on_header_field(data, start, end):
        st["hname"] += data[start:end]

    def on_header_value(data, start, end):
        st["hval"] += data[start:end]

    def on_header_end():
        st["headers"][st["hname"].decode("latin-1").lower()] = st["hval"]
        st["hname"], st["hval"] = b"", b""

    def on_headers_finished():
        _, disp = parse_options_header(st["headers"].get("content-disposition", b""))
        name = disp.get(b"name", b"").decode("utf-8", "replace")
        st["name"] = name
        if b"filename" in disp:
            f = UploadedFile(filename=os.path.basename(disp[b"filename"].decode("utf-8", "replace"))[:200])
            st["file"] = f
            if name == file_field:
                f.path = staging / f"upload-{uuid.uuid4().hex}"
                st["out"] = open(f.path, "wb")  # noqa: SIM115 (closed in on_part_end / finally)
                st["h"] = hashlib.sha256()
            files[name] = f

    def on_part_data(data, start, end):
        chunk = data[start:end]
        f = st["file"]
        if f is None:
            st["buf"] += chunk
            if len(st["buf"]) > SMALL_FILE_LIMIT:
                raise InputError(f"form field {st['name']!r} is too long")
            return
        f.size += len(chunk)
        if st["out"] is not None:
            if f.size > limit:
                raise UploadTooLarge(f"the file is larger than the limit of {limit // 1_000_000} MB")
            st["out"].write(chunk)
            st["h"].update(chunk)
        else:
            if f.size > SMALL_FILE_LIMIT:
                raise InputError(f"{f.filename or st['name']}: larger than {SMALL_FILE_LIMIT // 1_000_000} MB")
            f.data += chunk

    def on_part_end():
        f = st["file"]
        if f is None:
            if st["name"]:
                fields[st["name"]] = st["buf"].decode("utf-8", "replace")
        elif st["out"] is not None:
            st["out"].close()
            st["out"] = None
            f.sha256 = st["h"].hexdigest()

    parser = MultipartParser(opts[b"boundary"], {
        "on_part_begin": on_part_begin, "on_header_field": on_header_field,
        "on_header_value": on_header_value, "on_header_end": on_header_end,
        "on_headers_finished": on_headers_finished, "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    })
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except Exception as exc:
        if st.get("out") is not None:
            st["out"].close()
        for f in files.values():
            if f.path is not None:
                f.path.unlink(missing_ok=True)
        if isinstance(exc, InputError):
            raise
        raise InputError(f"the upload could not be read ({type(exc).__name__})") from None
    return fields, files


@dataclass
class Probe:
    ext: str
    width: int
    height: int
    duration_s: float | None
    frames: int | None
    codec: str


def probe_video(path: Path) -> Probe:
    """Decide by decoding whether ``path`` is a video: a video stream whose first frame
    decodes.

    Raises
    ------
    InputError
        Not a container FFmpeg reads, no video stream, or no frame decodes.
    """
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as c:
            if not c.streams.video:
                raise InputError("the file holds no video stream")
            s = c.streams.video[0]
            fmt = c.format.name.split(",")[0]
            if fmt == "image2" or fmt.endswith("_pipe"):
                raise InputError("the file is a still image, not a video")
            frame = next(iter(c.decode(s)), None)
            if frame is None:
                raise InputError("no video frame in the file could be decoded")
            rate = s.average_rate or s.guessed_rate
            duration = (float(s.duration * s.time_base) if s.duration and s.time_base
                        else (c.duration / 1e6 if c.duration else None))
            frames = s.frames or (round(duration * float(rate)) if duration and rate else None)
            return Probe(_EXT.get(fmt, ".bin"),
                         frame.width, frame.height, duration, frames or None,
                         s.codec_context.name)
    except InputError:
        raise
    except (av.error.FFmpegError, OSError, ValueError, UnicodeDecodeError):
        raise InputError("not a video file (FFmpeg cannot decode it)") from None


def store_media(layout: Layout, staged: Path, content_hash: str, ext: str) -> Path:
    """Move a checked upload to its content-addressed place (kept if already there)."""
    final = layout.media_path(content_hash, ext)
    final.parent.mkdir(parents=True, exist_ok=True)
    if final.exists():
        staged.unlink(missing_ok=True)
    else:
        os.replace(staged, final)
    return final
