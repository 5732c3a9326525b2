"""The trainer's web layer on the workspace's stack (Starlette routes served by uvicorn): the
single-page app in ``static/``, the stimulus images, and a JSON API over
:class:`tells.trainer.session.Trainer`.

The same routes serve two hosts. ``tells train`` (:class:`TrainerServer`) is one person on
127.0.0.1 with no login: :class:`OpenScope` lets the browser name the trainee. The team
workspace (``tells serve``, :mod:`tells.server.app`) mounts :func:`trainer_routes` behind its
login with a scope that fixes the trainee to the signed-in account and hides other people's
sessions. Standalone, only loopback is bound; requests naming another host (DNS rebinding) and
non-JSON posts (cross-site forms) are refused. Nothing leaves the machine.
"""

from __future__ import annotations

import json
import re
import socket
import threading
from collections.abc import Callable
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tells import DISCLAIMER
from tells.errors import TellsError
from tells.trainer import TRAINER_NOTE
from tells.trainer.emotions import EMOTIONS
from tells.trainer.packs import find_item, list_packs, set_status
from tells.trainer.session import Trainer, item_json

STATIC = Path(__file__).with_name("static")
_STATIC_FILES = {"app.js": "text/javascript", "app.css": "text/css", "index.html": "text/html"}
HOST = "127.0.0.1"
_NAME = "[A-Za-z0-9][A-Za-z0-9_.-]*"
_ITEM = "[A-Za-z0-9][A-Za-z0-9_.+-]*"
_MEDIA_RE = re.compile(rf"^({_NAME})/({_ITEM})/(neutral\.png|expression\.png|clip/f\d{{3}}\.jpg)$")
PAGES = ("/", "/index.html", "/progress", "/review", "/train")


class OpenScope:
    """One person on their own computer: every trainee and session is theirs."""

    def __init__(self, trainer: Trainer):
        self.trainer = trainer

    def trainee(self, asked: str) -> str:
        """The trainee a new session is for (here: the name the browser sent)."""
        return asked

    def config(self, asked: dict) -> dict:
        """The session overrides to use (here: what the browser asked for)."""
        return asked

    def check_session(self, sid: int) -> None:
        """Raise :class:`LookupError` when the session is not this user's."""

    def trainees(self) -> list[dict]:
        return self.trainer.trainees()

    def progress(self) -> list[dict]:
        return self.trainer.progress()

    def export_csv(self) -> str:
        return self.trainer.export_csv()

    def may_review(self) -> bool:
        return True


Scope = OpenScope  # the interface: the workspace subclasses it
ScopeOf = Callable[[Request], OpenScope]


def _json(obj, status: int = 200) -> Response:
    return JSONResponse(obj, status, headers={"Cache-Control": "no-store",
                                              "X-Content-Type-Options": "nosniff"})


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)


def _file(body: bytes, ctype: str, cache: bool = False, headers: dict | None = None) -> Response:
    return Response(body, media_type=ctype, headers={
        "Cache-Control": "max-age=3600" if cache else "no-store",
        "X-Content-Type-Options": "nosniff", **(headers or {})})


async def _body(request: Request) -> dict:
    if "application/json" not in request.headers.get("content-type", ""):
        raise TellsError("send JSON (Content-Type: application/json)")
    raw = await request.body()
    if len(raw) > 1_000_000:
        raise TellsError("request too large")
    try:
        data = json.loads(raw or b"{}")
    except ValueError:
        raise TellsError("request body is not JSON") from None
    if not isinstance(data, dict):
        raise TellsError("request body must be a JSON object")
    return data


def trainer_routes(scope_of: ScopeOf) -> list[Route]:
    """The trainer's routes. ``scope_of(request)`` (run in a worker thread) says whose
    training a request sees; it raises :class:`PermissionError` to refuse the request (403)."""
    from starlette.concurrency import run_in_threadpool

    def wrap(fn, post: bool = False):
        async def endpoint(request: Request) -> Response:
            try:
                scope = await run_in_threadpool(scope_of, request)
                body = await _body(request) if post else None
                return await run_in_threadpool(fn, request, scope, body)
            except PermissionError as exc:
                return _error(403, str(exc) or "forbidden")
            except LookupError:
                return _error(404, "not found")
            except TellsError as exc:
                return _error(400, str(exc))
        return endpoint

    def index(request, scope, _):
        return _file((STATIC / "index.html").read_bytes(), "text/html; charset=utf-8")

    def static(request, scope, _):
        name = request.path_params["name"]
        if name not in _STATIC_FILES:
            raise LookupError(name)
        return _file((STATIC / name).read_bytes(), _STATIC_FILES[name] + "; charset=utf-8")

    # Media: every stimulus file the app loads is answered here, from the item's files.
    def media(request, scope, _):
        m = _MEDIA_RE.match(request.path_params["path"])
        if not m:
            return _error(404, "not found")
        it = find_item(scope.trainer.library, f"{m.group(1)}/{m.group(2)}")
        f = None if it is None else it.media_file(m.group(3))  # clip frames: video-clip items
        if f is None or not f.is_file():
            return _error(404, "no such image")
        return _file(f.read_bytes(), "image/jpeg" if f.suffix == ".jpg" else "image/png",
                     cache=True)

    def state(request, scope, _):
        t = scope.trainer
        packs = list_packs(t.library)
        return _json({
            "note": TRAINER_NOTE, "disclaimer": DISCLAIMER, "emotions": list(EMOTIONS),
            "trainees": scope.trainees(),
            "packs": [{"name": p.name, "source": p.source, "counts": p.counts()} for p in packs],
            "pending": sum(p.counts()["pending"] for p in packs),
            "defaults": t.defaults.to_dict(),
        })

    def session_get(request, scope, _):
        sid, what = request.path_params["sid"], request.path_params.get("what")
        scope.check_session(sid)
        if what == "report":
            return _json(scope.trainer.report(sid))
        if what is None:
            return _json(scope.trainer.step(sid))
        return _error(405, "use POST")

    def progress(request, scope, _):
        return _json(scope.progress())

    def review(request, scope, _):
        if not scope.may_review():
            return _error(403, "only coaches review items")
        out = []
        for p in list_packs(scope.trainer.library):
            for it in p.items:
                if it.status == "pending":
                    out.append({**item_json(it, True), "origin": it.origin})
        return _json(out)

    def export(request, scope, _):
        return _file(scope.export_csv().encode(), "text/csv; charset=utf-8",
                     headers={"Content-Disposition": 'attachment; filename="tells-answers.csv"'})

    def favicon(request, scope, _):
        return Response(status_code=204)

    def start(request, scope, body):
        t = scope.trainer
        sid = t.start(scope.trainee(str(body.get("trainee", ""))), scope.config(body.get("config") or {}),
                      frame_period_ms=body.get("frame_period_ms"))
        return _json(t.step(sid))

    def session_post(request, scope, body):
        sid, what = request.path_params["sid"], request.path_params.get("what")
        scope.check_session(sid)
        t = scope.trainer
        if what == "answer":
            return _json(t.answer(
                sid, int(body.get("index", -1)), str(body.get("answer", "")),
                measured_ms=body.get("measured_ms"), measured_frames=body.get("measured_frames"),
                frame_period_ms=body.get("frame_period_ms"), reaction_ms=body.get("reaction_ms"),
                input_method=str(body.get("input", "key")),
                flash_attempts=body.get("flash_attempts", 1),
            ))
        if what == "lesson":
            return _json(t.lesson_done(sid, int(body.get("index", -1))))
        return _error(404, "not found")

    def review_post(request, scope, body):
        if not scope.may_review():
            return _error(403, "only coaches review items")
        it = set_status(scope.trainer.library, str(body.get("item", "")), str(body.get("status", "")))
        return _json({"item": it.key, "status": it.status})

    get = ["GET"]
    return [
        *[Route(p, wrap(index), methods=get) for p in PAGES],
        Route("/favicon.ico", wrap(favicon), methods=get),
        Route("/static/{name}", wrap(static), methods=get),
        Route("/media/{path:path}", wrap(media), methods=get),
        Route("/api/state", wrap(state), methods=get),
        Route("/api/sessions", wrap(start, True), methods=["POST"]),
        Route("/api/sessions/{sid:int}", wrap(session_get), methods=get),
        Route("/api/sessions/{sid:int}/{what}", wrap(session_get), methods=get),
        Route("/api/sessions/{sid:int}/{what}", wrap(session_post, True), methods=["POST"]),
        Route("/api/progress", wrap(progress), methods=get),
        Route("/api/review", wrap(review), methods=get),
        Route("/api/review", wrap(review_post, True), methods=["POST"]),
        Route("/export.csv", wrap(export), methods=get),
    ]


class LoopbackOnly:
    """ASGI middleware: refuse requests whose Host header names anything but this machine."""

    def __init__(self, app, message: str = "the trainer answers only on 127.0.0.1"):
        self.app, self.message = app, message

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").rsplit(":", 1)[0]
            if host not in ("127.0.0.1", "localhost"):
                await _error(403, self.message)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _not_found(request, exc):
    return _error(404, "not found")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (port 0: a free one).

    Raises
    ------
    TellsError
        The address cannot be bound.
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, int(port)))
    except OSError as exc:
        sock.close()
        raise TellsError(f"cannot listen on {host}:{port} ({exc.strerror}); try another --port") from None
    sock.listen(512)
    return sock


class ServedApp:
    """An ASGI app served by uvicorn on an already bound socket, in this thread
    (:meth:`serve_forever`) or a background one (:meth:`start`)."""

    def __init__(self, app, sock: socket.socket, name: str = "tells-web"):
        import uvicorn

        self.sock, self.name = sock, name
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                                    lifespan="on", timeout_graceful_shutdown=3))
        self._thread: threading.Thread | None = None

    @property
    def server_address(self) -> tuple[str, int]:
        return self.sock.getsockname()[:2]

    def start(self):
        self._thread = threading.Thread(target=self.serve_forever, name=self.name, daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.server.run(sockets=[self.sock])

    def stop(self) -> None:
        self.server.should_exit = True
        if self._thread:
            self._thread.join(timeout=10)
        self.server_close()

    def server_close(self) -> None:
        self.sock.close()


def trainer_app(trainer: Trainer) -> Starlette:
    """The standalone trainer: one person, no login, loopback only."""
    scope = OpenScope(trainer)
    app = Starlette(routes=trainer_routes(lambda request: scope),
                    exception_handlers={404: _not_found})
    app.add_middleware(LoopbackOnly)
    return app


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
        self.httpd = ServedApp(trainer_app(trainer), bind(HOST, port), name="tells-trainer")

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def start(self) -> TrainerServer:
        self.httpd.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.stop()


__all__ = ["HOST", "OpenScope", "ServedApp", "TrainerServer", "bind",
           "trainer_app", "trainer_routes"]
