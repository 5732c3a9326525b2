"""The trainer's local web app: a small standard-library HTTP server on 127.0.0.1 that serves
the single-page app in ``static/``, the stimulus images, and a JSON API over
:class:`tells.trainer.session.Trainer`.

Only loopback is ever bound; requests naming another host (DNS rebinding) and cross-site
form posts are refused. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

from tells import DISCLAIMER
from tells.errors import TellsError
from tells.trainer import TRAINER_NOTE
from tells.trainer.emotions import EMOTIONS
from tells.trainer.packs import find_item, list_packs, set_status
from tells.trainer.session import Trainer, item_json

STATIC = Path(__file__).with_name("static")
_STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
_MEDIA_RE = re.compile(r"^/media/([A-Za-z0-9][A-Za-z0-9_.-]*)/([A-Za-z0-9][A-Za-z0-9_.+-]*)/(neutral|expression)\.png$")
_SESSION_RE = re.compile(r"^/api/sessions/(\d+)(?:/(answer|lesson|report))?$")
HOST = "127.0.0.1"


class _Handler(BaseHTTPRequestHandler):
    server_version = "tells-trainer"
    trainer: Trainer  # set on the subclass made by TrainerServer

    def log_message(self, fmt, *args):  # quiet: the CLI prints the address once
        pass

    # plumbing -------------------------------------------------------------------------------
    def _host_ok(self) -> bool:
        host = (self.headers.get("Host") or "").rsplit(":", 1)[0]
        return host in ("127.0.0.1", "localhost")

    def _send(self, status: int, body: bytes, ctype: str, cache: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, obj, status: int = 200) -> None:
        self._send(status, json.dumps(obj).encode(), "application/json")

    def _error(self, status: int, message: str) -> None:
        self._json({"error": message}, status)

    def _body(self) -> dict:
        if "application/json" not in (self.headers.get("Content-Type") or ""):
            raise TellsError("send JSON (Content-Type: application/json)")
        n = int(self.headers.get("Content-Length") or 0)
        if n > 1_000_000:
            raise TellsError("request too large")
        try:
            data = json.loads(self.rfile.read(n) or b"{}")
        except ValueError:
            raise TellsError("request body is not JSON") from None
        if not isinstance(data, dict):
            raise TellsError("request body must be a JSON object")
        return data

    def _dispatch(self, fn) -> None:
        if not self._host_ok():
            self._error(HTTPStatus.FORBIDDEN, "the trainer answers only on 127.0.0.1")
            return
        try:
            fn(urlsplit(self.path).path)
        except TellsError as exc:
            self._error(HTTPStatus.BAD_REQUEST, str(exc))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):  # noqa: N802
        self._dispatch(self._get)

    def do_HEAD(self):  # noqa: N802
        self._dispatch(self._get)

    def do_POST(self):  # noqa: N802
        self._dispatch(self._post)

    # routes -------------------------------------------------------------------------------
    def _get(self, path: str) -> None:
        t = self.trainer
        if path in ("/", "/index.html") or path in ("/progress", "/review", "/train"):
            self._send(200, (STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")
        elif path == "/favicon.ico":
            self.send_response(HTTPStatus.NO_CONTENT)
            self.end_headers()
        elif path.startswith("/static/") and path[8:] in _STATIC_FILES:
            name = path[8:]
            self._send(200, (STATIC / name).read_bytes(), _STATIC_FILES[name] + "; charset=utf-8")
        elif m := _MEDIA_RE.match(path):
            it = find_item(t.library, f"{m.group(1)}/{m.group(2)}")
            f = None if it is None else (it.neutral if m.group(3) == "neutral" else it.expression)
            if f is None or not f.is_file():
                self._error(404, "no such image")
            else:
                self._send(200, f.read_bytes(), "image/png", cache=True)
        elif path == "/api/state":
            packs = list_packs(t.library)
            self._json({
                "note": TRAINER_NOTE, "disclaimer": DISCLAIMER, "emotions": list(EMOTIONS),
                "trainees": t.trainees(),
                "packs": [{"name": p.name, "source": p.source, "counts": p.counts()} for p in packs],
                "pending": sum(p.counts()["pending"] for p in packs),
                "defaults": t.defaults.to_dict(),
            })
        elif m := _SESSION_RE.match(path):
            sid, what = int(m.group(1)), m.group(2)
            if what == "report":
                self._json(t.report(sid))
            elif what is None:
                self._json(t.step(sid))
            else:
                self._error(405, "use POST")
        elif path == "/api/progress":
            self._json(t.progress())
        elif path == "/api/review":
            out = []
            for p in list_packs(t.library):
                for it in p.items:
                    if it.status == "pending":
                        out.append({**item_json(it, True), "origin": it.origin})
            self._json(out)
        elif path == "/export.csv":
            body = t.export_csv().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/csv; charset=utf-8")
            self.send_header("Content-Disposition", 'attachment; filename="tells-answers.csv"')
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)
        else:
            self._error(404, "not found")

    def _post(self, path: str) -> None:
        t = self.trainer
        body = self._body()
        if path == "/api/sessions":
            sid = t.start(str(body.get("trainee", "")), body.get("config") or {},
                          frame_period_ms=body.get("frame_period_ms"))
            self._json(t.step(sid))
        elif (m := _SESSION_RE.match(path)) and m.group(2) == "answer":
            self._json(t.answer(
                int(m.group(1)), int(body.get("index", -1)), str(body.get("answer", "")),
                measured_ms=body.get("measured_ms"), measured_frames=body.get("measured_frames"),
                frame_period_ms=body.get("frame_period_ms"), reaction_ms=body.get("reaction_ms"),
                input_method=str(body.get("input", "key")),
                flash_attempts=body.get("flash_attempts", 1),
            ))
        elif (m := _SESSION_RE.match(path)) and m.group(2) == "lesson":
            self._json(t.lesson_done(int(m.group(1)), int(body.get("index", -1))))
        elif path == "/api/review":
            it = set_status(t.library, str(body.get("item", "")), str(body.get("status", "")))
            self._json({"item": it.key, "status": it.status})
        else:
            self._error(404, "not found")


class TrainerServer:
    """The web app on ``127.0.0.1:port`` (port 0 picks a free one), served from a thread.

    Examples
    --------
    >>> srv = TrainerServer(trainer).start()   # doctest: +SKIP
    >>> srv.url                                 # doctest: +SKIP
    'http://127.0.0.1:53011/'
    >>> srv.stop()                              # doctest: +SKIP
    """

    def __init__(self, trainer: Trainer, port: int = 0):
        handler = type("Handler", (_Handler,), {"trainer": trainer})
        try:
            self.httpd = ThreadingHTTPServer((HOST, int(port)), handler)
        except OSError as exc:
            raise TellsError(f"cannot listen on {HOST}:{port} ({exc.strerror}); try another --port") from None
        self.httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> TrainerServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="tells-trainer", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)
