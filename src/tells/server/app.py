"""The workspace's routes and pages (Starlette; server-rendered Jinja pages, a small JSON API,
and the trainer's routes mounted behind the login).

Every handler runs in a worker thread with its own database session (:class:`Ctx`). Every
state-changing request carries the session's CSRF token (form field ``csrf`` or header
``X-CSRF-Token``); the login and invitation forms, made before a session exists, carry a
token tied to a pre-login cookie. Access rules live in :mod:`.access`.
"""

from __future__ import annotations

import contextlib
import csv
import hashlib
import hmac
import io
import json
import logging
import os
import re
import secrets
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

from tells import DISCLAIMER
from tells.errors import InputError, TellsError
from tells.server import auth
from tells.server.access import Actor, Denied
from tells.server.db import (
    AnalysisJob,
    Assignment,
    AuditEntry,
    Consent,
    Invitation,
    Login,
    Membership,
    Note,
    Person,
    Recording,
    Team,
    User,
    aware,
    utcnow,
)
from tells.server.jobs import JobRunner, job_json
from tells.server.records import (
    audit,
    delete_recording,
    erase_person,
    erase_user,
    export_person,
    export_user,
    person_recordings,
)
from tells.server.storage import Layout, UploadTooLarge, probe_video, receive_multipart, store_media
from tells.trainer.server import OpenScope, trainer_routes
from tells.trainer.session import SessionConfig, Trainer

log = logging.getLogger("tells.server")
HERE = Path(__file__).parent
PRE_COOKIE = "tells_pre"
INVITE_DAYS = 7
CONSENT_NOTICE = (
    "This call is recorded and analysed with tells, an emotion-recognition tool: it estimates "
    "facial action units, brief facial expressions and the emotions they may show. The results "
    "are cues, not proof of what you think or whether you tell the truth. They are seen by the "
    "team's coaches and members for training, kept for the team's retention period, and you can "
    "ask for a copy or for their deletion at any time."
)

_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape())
_env.filters["pct"] = lambda x: "–" if x is None else f"{round(x * 100)}%"
_env.filters["ms"] = lambda x: "–" if x is None else f"{round(x)} ms"


@dataclass(frozen=True)
class ServerConfig:
    """How ``tells serve`` runs (one frozen record, passed down)."""

    data: Path
    db: str
    host: str = "127.0.0.1"
    port: int = 8750
    public: bool = False
    #: largest upload in bytes
    max_upload: int = 2_000_000_000
    workers: int | None = None
    scheduler: str | None = None
    library: Path | None = None
    quick_training: bool = False
    #: send cookies only over HTTPS (behind a TLS reverse proxy)
    secure_cookies: bool = False
    retention_every_s: float = 3600.0


class Workspace:
    """What the routes share: config, database, data folder, trainer and job runner."""

    def __init__(self, config: ServerConfig, engine, start_jobs: bool = True):
        self.config = config
        self.engine = engine
        self.layout = Layout(Path(config.data)).create()
        defaults = (SessionConfig(test_items_per_emotion=1, practice_per_emotion=2)
                    if config.quick_training else SessionConfig())
        self.trainer = Trainer(engine, config.library or self.layout.packs, defaults)
        self.secret = _secret(self.layout.root / "secret.key")
        self.runner = JobRunner(engine, self.layout, config.workers, config.scheduler,
                                config.retention_every_s) if start_jobs else None


def _secret(path: Path) -> bytes:
    """The workspace's signing key (made once, readable by the server's user only)."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
    return path.read_bytes()


@dataclass
class Ctx:
    request: Request
    ws: Workspace
    db: Session
    user: User | None = None
    login: Login | None = None
    actor: Actor | None = None
    form: dict = field(default_factory=dict)

    @property
    def csrf(self) -> str | None:
        return self.login.csrf if self.login else None

    def render(self, template: str, status: int = 200, **kw) -> HTMLResponse:
        html = _env.get_template(template).render(user=self.user, csrf=self.csrf,
                                                  disclaimer=DISCLAIMER, **kw)
        return HTMLResponse(html, status)

    def audit(self, action: str, team_id: int | None, target: str = "", detail: dict | None = None):
        audit(self.db, self.user, action, team_id, target, {**(detail or {}), "ip": _ip(self.request)})


def _ip(request: Request) -> str:
    return request.client.host if request.client else "?"


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get("accept", "")


def error_response(request: Request, status: int, message: str, user=None, csrf=None) -> Response:
    if _wants_json(request):
        return JSONResponse({"error": message}, status)
    html = _env.get_template("message.html").render(title="Not possible" if status != 404 else "Not found",
                                                    message=message, user=user, csrf=csrf,
                                                    disclaimer=DISCLAIMER, link="/", link_text="Home")
    return HTMLResponse(html, status)


def _origin_ok(request: Request) -> bool:
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return origin.split("://", 1)[-1] == host


async def _read_body(request: Request) -> dict:
    ctype = request.headers.get("content-type", "")
    if "application/x-www-form-urlencoded" in ctype:
        form = await request.form(max_files=0, max_fields=50)
        return {k: str(v) for k, v in form.items()}
    if "application/json" in ctype:
        raw = await request.body()
        if len(raw) > 1_000_000:
            raise InputError("request too large")
        try:
            data = json.loads(raw or b"{}")
        except ValueError:
            raise InputError("request body is not JSON") from None
        return data if isinstance(data, dict) else {}
    return {}


def handler(fn=None, *, auth_required: bool = True, post: bool = False, pre_login: bool = False):
    """Wrap a sync ``fn(ctx, **path_params)``: session lookup, login redirect, CSRF check,
    errors as pages, all in a worker thread."""

    def deco(fn):
        async def endpoint(request: Request) -> Response:
            ws: Workspace = request.app.state.ws
            form: dict = {}
            if post:
                if not _origin_ok(request):
                    return error_response(request, 403, "cross-site request refused")
                try:
                    form = await _read_body(request)
                except TellsError as exc:
                    return error_response(request, 400, str(exc))

            def run() -> Response:
                with Session(ws.engine) as db:
                    found = auth.session_for(db, request.cookies.get(auth.COOKIE))
                    login, user = found if found else (None, None)
                    if auth_required and user is None:
                        if request.method == "GET" and not _wants_json(request):
                            return RedirectResponse(f"/login?next={quote(request.url.path)}", 303)
                        return error_response(request, 401, "log in first")
                    if post:
                        token = form.get("csrf") or request.headers.get("x-csrf-token")
                        if pre_login and login is None:
                            ok = bool(token) and secrets.compare_digest(
                                str(token), request.cookies.get(PRE_COOKIE, "") or "-")
                        else:
                            ok = auth.csrf_ok(login, token)
                        if not ok:
                            return error_response(request, 403, "missing or expired form token; reload the page and try again",
                                                  user, login.csrf if login else None)
                    ctx = Ctx(request, ws, db, user, login, Actor.load(db, user) if user else None, form)
                    try:
                        return fn(ctx, **request.path_params)
                    except Denied as exc:
                        db.rollback()
                        return error_response(request, exc.status, str(exc), user, ctx.csrf)
                    except TellsError as exc:
                        db.rollback()
                        return error_response(request, 400, str(exc), user, ctx.csrf)
            return await run_in_threadpool(run)
        return endpoint

    return deco(fn) if fn is not None else deco


def _fmt(dt) -> str:
    dt = aware(dt)
    return "" if dt is None else dt.strftime("%Y-%m-%d %H:%M UTC")


def _cookie(resp: Response, ws: Workspace, name: str, value: str, max_age: int | None) -> None:
    resp.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                    secure=ws.config.secure_cookies, path="/")


# accounts --------------------------------------------------------------------------------------
def _pre_token(ctx: Ctx) -> tuple[str, bool]:
    tok = ctx.request.cookies.get(PRE_COOKIE)
    if tok and 20 <= len(tok) <= 64:
        return tok, False
    return auth.new_token(), True


def _with_pre(resp: Response, ctx: Ctx, tok: str, new: bool) -> Response:
    if new:
        _cookie(resp, ctx.ws, PRE_COOKIE, tok, 3600)
    return resp


@handler(auth_required=False)
def login_page(ctx: Ctx) -> Response:
    nxt = ctx.request.query_params.get("next", "/")
    tok, new = _pre_token(ctx)
    return _with_pre(ctx.render("login.html", title="Log in", pre_csrf=tok, next=_safe_next(nxt)), ctx, tok, new)


def _safe_next(nxt: str) -> str:
    return nxt if nxt.startswith("/") and not nxt.startswith("//") and "\\" not in nxt else "/"


@handler(auth_required=False, post=True, pre_login=True)
def login_post(ctx: Ctx) -> Response:
    tok, new = _pre_token(ctx)
    username = str(ctx.form.get("username", ""))
    try:
        user = auth.authenticate(ctx.db, username, str(ctx.form.get("password", "")), _ip(ctx.request))
    except auth.RateLimited:
        return ctx.render("login.html", 429, title="Log in", pre_csrf=tok, next="/",
                          error="Too many failed logins; wait 15 minutes and try again.")
    if user is None:
        return _with_pre(ctx.render("login.html", 401, title="Log in", pre_csrf=tok, next="/",
                                    error="Wrong user name or password."), ctx, tok, new)
    secret, _ = auth.start_session(ctx.db, user, ctx.request.cookies.get(auth.COOKIE))
    resp = RedirectResponse(_safe_next(str(ctx.form.get("next") or "/")), 303)
    _cookie(resp, ctx.ws, auth.COOKIE, secret, auth.SESSION_DAYS * 86400)
    resp.delete_cookie(PRE_COOKIE, path="/")
    return resp


@handler(post=True)
def logout(ctx: Ctx) -> Response:
    auth.end_session(ctx.db, ctx.request.cookies.get(auth.COOKIE))
    resp = RedirectResponse("/login", 303)
    resp.delete_cookie(auth.COOKIE, path="/")
    return resp


@handler
def session_json(ctx: Ctx) -> Response:
    return JSONResponse({"user": {"id": ctx.user.id, "username": ctx.user.username,
                                  "display_name": ctx.user.display_name, "role": ctx.user.role},
                         "teams": [{"team": t, "role": r} for t, r in ctx.actor.teams.items()],
                         "csrf": ctx.csrf})


# teams -------------------------------------------------------------------------------------------
def _status(db: Session, rec: Recording) -> str:
    job = db.scalar(select(AnalysisJob).where(AnalysisJob.recording_id == rec.id)
                    .order_by(AnalysisJob.id.desc()).limit(1))
    if rec.analysis_hash:
        return "analysed"
    return job.status if job else "not analysed"


def _recordings(db: Session, team_id: int) -> list[dict]:
    recs = db.scalars(select(Recording).where(Recording.team_id == team_id)
                      .order_by(Recording.id.desc())).all()
    return [{"id": r.id, "title": r.title, "uploaded": _fmt(r.uploaded_at), "status": _status(db, r)}
            for r in recs]


@handler
def home(ctx: Ctx) -> Response:
    a = ctx.actor
    q = select(Team).order_by(Team.name)
    if not a.admin:
        q = q.where(Team.id.in_(list(a.teams) or [-1]))
    teams = [{"id": t.id, "name": t.name, "role": a.role_in(t.id), "recordings": _recordings(ctx.db, t.id)}
             for t in ctx.db.scalars(q).all()]
    return ctx.render("home.html", title="Teams", teams=teams,
                      may_create=a.user.role in ("admin", "coach"),
                      assignments=_my_assignments(ctx))


@handler(post=True)
def team_create(ctx: Ctx) -> Response:
    ctx.actor.create_team()
    name = str(ctx.form.get("name", "")).strip()
    if not name or len(name) > 120:
        raise InputError("give the team a name (1 to 120 characters)")
    team = Team(name=name)
    ctx.db.add(team)
    ctx.db.flush()
    ctx.db.add(Membership(team_id=team.id, user_id=ctx.user.id, role="coach"))
    ctx.audit("team.create", team.id, f"team:{team.id}", {"name": name})
    ctx.db.commit()
    return RedirectResponse(f"/teams/{team.id}", 303)


def _team(ctx: Ctx, tid: int) -> Team:
    ctx.actor.see_team(tid)
    team = ctx.db.get(Team, tid)
    if team is None:
        raise Denied(404, "no such team")
    return team


def _members(db: Session, tid: int) -> list[dict]:
    rows = db.execute(select(User, Membership.role).join(Membership, Membership.user_id == User.id)
                      .where(Membership.team_id == tid).order_by(User.display_name)).all()
    return [{"id": u.id, "username": u.username, "display_name": u.display_name, "role": r}
            for u, r in rows]


def _team_page(ctx: Ctx, team: Team, **kw) -> Response:
    manage = ctx.actor.role_in(team.id) in ("admin", "coach")
    return ctx.render("team.html", title=team.name, team=team, manage=manage,
                      members=_members(ctx.db, team.id), recordings=_recordings(ctx.db, team.id),
                      invite_days=INVITE_DAYS, **kw)


@handler
def team_page(ctx: Ctx, tid: int) -> Response:
    return _team_page(ctx, _team(ctx, tid))


@handler(post=True)
def invite_create(ctx: Ctx, tid: int) -> Response:
    team = _team(ctx, tid)
    ctx.actor.manage_team(tid)
    role = str(ctx.form.get("role", "member"))
    if role not in ("member", "coach"):
        raise InputError("an invitation is for a member or a coach")
    token = auth.new_token()
    ctx.db.add(Invitation(team_id=tid, role=role, token_hash=auth.digest(token), created_by=ctx.user.id,
                          expires_at=utcnow() + timedelta(days=INVITE_DAYS)))
    ctx.audit("invite", tid, f"team:{tid}", {"role": role})
    ctx.db.commit()
    link = f"{ctx.request.url.scheme}://{ctx.request.headers.get('host')}/invite/{token}"
    if _wants_json(ctx.request):
        return JSONResponse({"link": link})
    return _team_page(ctx, team, invite_link=link)


def _invitation(ctx: Ctx, token: str) -> Invitation:
    inv = ctx.db.scalar(select(Invitation).where(Invitation.token_hash == auth.digest(token)))
    if inv is None or inv.used_at is not None or auth.expired(inv.expires_at):
        raise Denied(404, "this invitation link is not valid (used, expired or mistyped); ask for a new one")
    return inv


@handler(auth_required=False)
def invite_page(ctx: Ctx, token: str) -> Response:
    inv = _invitation(ctx, token)
    tok, new = _pre_token(ctx)
    return _with_pre(ctx.render("invite.html", title="Join", team=ctx.db.get(Team, inv.team_id),
                                role=inv.role, pre_csrf=None if ctx.user else tok), ctx, tok, new)


@handler(auth_required=False, post=True, pre_login=True)
def invite_accept(ctx: Ctx, token: str) -> Response:
    from sqlalchemy import update

    inv = _invitation(ctx, token)
    team = ctx.db.get(Team, inv.team_id)
    user = ctx.user
    if user is None:
        username = str(ctx.form.get("username", "")).strip().lower()
        check_username(username)
        if ctx.db.scalar(select(User.id).where(User.username == username)) is not None:
            tok, _ = _pre_token(ctx)
            return ctx.render("invite.html", 400, title="Join", team=team, role=inv.role, pre_csrf=tok,
                              error=f"the user name {username!r} is taken; choose another")
        display = str(ctx.form.get("display_name", "")).strip()[:120] or username
        user = User(username=username, display_name=display, role="coach" if inv.role == "coach" else "member",
                    password_hash=auth.hash_password(str(ctx.form.get("password", ""))))
        ctx.db.add(user)
        ctx.db.flush()
    # one-time: only the first request that marks it used goes on
    n = ctx.db.execute(update(Invitation).where(Invitation.id == inv.id, Invitation.used_at.is_(None))
                       .values(used_at=utcnow(), used_by=user.id)).rowcount
    if n != 1:
        ctx.db.rollback()
        raise Denied(404, "this invitation link was just used")
    existing = ctx.db.scalar(select(Membership).where(Membership.team_id == team.id, Membership.user_id == user.id))
    if existing is None:
        ctx.db.add(Membership(team_id=team.id, user_id=user.id, role=inv.role))
    audit(ctx.db, user, "invite.accept", team.id, f"user:{user.id}", {"role": inv.role})
    ctx.db.commit()
    resp = RedirectResponse(f"/teams/{team.id}", 303)
    if ctx.login is None:
        secret, _ = auth.start_session(ctx.db, user, ctx.request.cookies.get(auth.COOKIE))
        _cookie(resp, ctx.ws, auth.COOKIE, secret, auth.SESSION_DAYS * 86400)
    return resp


def check_username(username: str) -> str:
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{1,63}", username or ""):
        raise InputError("a user name is 2 to 64 characters: lower-case letters, digits, '.', '_' or '-'")
    return username


@handler(post=True)
def retention_post(ctx: Ctx, tid: int) -> Response:
    team = _team(ctx, tid)
    ctx.actor.manage_team(tid)
    days = str(ctx.form.get("days", "")).strip()
    try:
        team.retention_days = int(days) if days else None
    except ValueError:
        raise InputError("retention days must be a whole number") from None
    if team.retention_days is not None and not 1 <= team.retention_days <= 3650:
        raise InputError("retention is 1 to 3650 days")
    team.retention_keep_derived = str(ctx.form.get("keep_derived", "")) in ("1", "on", "true", "yes")
    ctx.audit("retention", tid, f"team:{tid}", {"days": team.retention_days,
                                                "keep_derived": team.retention_keep_derived})
    ctx.db.commit()
    return RedirectResponse(f"/teams/{tid}", 303)


# recordings ----------------------------------------------------------------------------------------
@handler
def upload_page(ctx: Ctx, tid: int) -> Response:
    team = _team(ctx, tid)
    return ctx.render("upload.html", title="Upload", team=team, notice=CONSENT_NOTICE,
                      limit_mb=ctx.ws.config.max_upload // 1_000_000)


def _consent(form: dict) -> tuple[list[str], str, datetime, str]:
    subjects = [s.strip()[:200] for s in str(form.get("subjects", "")).splitlines() if s.strip()]
    given_by = str(form.get("given_by", "")).strip()[:200]
    notice = str(form.get("notice", "")).strip()
    raw = str(form.get("given_at", "")).strip()
    if not subjects:
        raise InputError("consent record: name the people recorded")
    if not given_by:
        raise InputError("consent record: say who gave consent")
    if len(notice) < 20:
        raise InputError("consent record: give the notice shown to the people recorded")
    if str(form.get("confirm", "")) not in ("yes", "on", "1", "true"):
        raise InputError("consent record: confirm that everyone recorded was shown the notice and consented")
    try:
        given_at = datetime.fromisoformat(raw)
    except ValueError:
        raise InputError("consent record: when was consent given? (date and time)") from None
    given_at = given_at if given_at.tzinfo else given_at.replace(tzinfo=UTC)
    if given_at > utcnow() + timedelta(days=1):
        raise InputError("consent record: the consent time lies in the future")
    return subjects, given_by, given_at, notice


async def upload_post(request: Request) -> Response:
    """Multipart upload, streamed: checked for login and origin before the body is read, for
    the CSRF token and the consent record after, then decoded to decide it is a video."""
    ws: Workspace = request.app.state.ws
    tid = request.path_params["tid"]
    if not _origin_ok(request):
        return error_response(request, 403, "cross-site request refused")

    def who():
        with Session(ws.engine) as db:
            found = auth.session_for(db, request.cookies.get(auth.COOKIE))
            if not found:
                return None
            login, user = found
            actor = Actor.load(db, user)
            try:
                actor.see_team(tid)
                if db.get(Team, tid) is None:
                    raise Denied(404, "no such team")
            except Denied as exc:
                return exc
            return login.csrf, user.id

    me = await run_in_threadpool(who)
    if me is None:
        return error_response(request, 401, "log in first")
    if isinstance(me, Denied):
        return error_response(request, me.status, str(me))
    csrf, uid = me
    try:
        fields, files = await receive_multipart(request, ws.layout.staging, "video", ws.config.max_upload)
    except UploadTooLarge as exc:
        return error_response(request, 413, str(exc))
    except TellsError as exc:
        return error_response(request, 400, str(exc))
    video = files.get("video")
    if not secrets.compare_digest(str(fields.get("csrf") or request.headers.get("x-csrf-token") or ""), csrf):
        if video and video.path:
            video.path.unlink(missing_ok=True)
        return error_response(request, 403, "missing or expired form token; reload the page and try again")

    def store() -> Response:
        with Session(ws.engine) as db:
            user = db.get(User, uid)
            try:
                if video is None or video.path is None or video.size == 0:
                    raise InputError("choose a video file to upload")
                subjects, given_by, given_at, notice = _consent(fields)
                title = str(fields.get("title", "")).strip()[:200] or video.filename or "recording"
                probe = probe_video(video.path)
                context = _context_files(files)
            except TellsError as exc:
                if video and video.path:
                    video.path.unlink(missing_ok=True)
                return error_response(request, 400, str(exc), user, csrf)
            store_media(ws.layout, video.path, video.sha256, probe.ext)
            rec = Recording(team_id=tid, title=title, uploaded_by=uid, media_hash=video.sha256,
                            media_ext=probe.ext, size_bytes=video.size, duration_s=probe.duration_s,
                            width=probe.width, height=probe.height, codec=probe.codec,
                            has_transcript="transcript" in context, has_agenda="agenda" in context)
            db.add(rec)
            db.flush()
            for name in dict.fromkeys(subjects):
                person = db.scalar(select(Person).where(Person.team_id == tid, Person.name == name))
                if person is None:
                    person = Person(team_id=tid, name=name)
                    db.add(person)
                    db.flush()
                db.add(Consent(recording_id=rec.id, person_id=person.id, given_by=given_by,
                               given_at=given_at, notice=notice, recorded_by=uid))
            if context:
                d = ws.layout.context / str(rec.id)
                d.mkdir(parents=True, exist_ok=True)
                for _kind, (name, data) in context.items():
                    (d / name).write_bytes(data)
            job = AnalysisJob(recording_id=rec.id, frames_total=probe.frames)
            db.add(job)
            audit(db, user, "upload", tid, f"recording:{rec.id}",
                  {"sha256": video.sha256, "bytes": video.size, "people": subjects, "ip": _ip(request)})
            db.commit()
            if _wants_json(request):
                return JSONResponse({"recording": rec.id, "job": job.id}, 201)
            return RedirectResponse(f"/recordings/{rec.id}", 303)

    return await run_in_threadpool(store)


def _context_files(files: dict) -> dict[str, tuple[str, bytes]]:
    """Transcript and agenda, parsed here so a broken one is refused at upload."""
    from tells.insights.segments import read_segments
    from tells.insights.transcript import read_transcript

    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = files.get("transcript")
        if t is not None and t.size:
            ext = ".srt" if t.filename.lower().endswith(".srt") else ".vtt"
            p = Path(tmp) / f"transcript{ext}"
            p.write_bytes(bytes(t.data))
            read_transcript(p)
            out["transcript"] = (p.name, bytes(t.data))
        a = files.get("agenda")
        if a is not None and a.size:
            p = Path(tmp) / "agenda.csv"
            p.write_bytes(bytes(a.data))
            read_segments(p)
            out["agenda"] = (p.name, bytes(a.data))
    return out


def _team_row(ctx: Ctx, model, pk: int, what: str):
    """A row of one of the signed-in user's teams; 404 for anything else, so nobody learns
    that another team's row exists."""
    row = ctx.db.get(model, pk)
    if row is None or ctx.actor.role_in(row.team_id) is None:
        raise Denied(404, f"no such {what}")
    return row


def _recording(ctx: Ctx, rid: int) -> Recording:
    return _team_row(ctx, Recording, rid, "recording")


def _events(ws: Workspace, rec: Recording) -> list[dict] | None:
    if not rec.analysis_hash:
        return None
    p = ws.layout.analysis_dir(rec.analysis_hash) / "events.json"
    try:
        return json.loads(p.read_text()).get("events", [])
    except (OSError, ValueError):
        return None


def _report_path(ws: Workspace, rec: Recording) -> Path | None:
    if not rec.analysis_hash:
        return None
    own = ws.layout.reports / str(rec.id) / "report.html"
    if own.exists():
        return own
    p = ws.layout.analysis_dir(rec.analysis_hash) / "report.html"
    return p if p.exists() else None


@handler
def recording_page(ctx: Ctx, rid: int) -> Response:
    rec = _recording(ctx, rid)
    team = ctx.db.get(Team, rec.team_id)
    job = ctx.db.scalar(select(AnalysisJob).where(AnalysisJob.recording_id == rid)
                        .order_by(AnalysisJob.id.desc()).limit(1))
    consents = [{"person": ctx.db.get(Person, c.person_id).name, "given_by": c.given_by,
                 "given_at": _fmt(c.given_at), "notice": c.notice}
                for c in ctx.db.scalars(select(Consent).where(Consent.recording_id == rid))]
    notes = []
    for n in ctx.db.scalars(select(Note).where(Note.recording_id == rid).order_by(Note.id)):
        u = ctx.db.get(User, n.user_id) if n.user_id else None
        notes.append({"who": u.display_name if u else "?", "t": n.t, "event_index": n.event_index,
                      "verdict": n.verdict, "text": n.text})
    uploader = ctx.db.get(User, rec.uploaded_by) if rec.uploaded_by else None
    ctx.audit("view", rec.team_id, f"recording:{rid}")
    ctx.db.commit()
    events = _events(ctx.ws, rec)
    runner = ctx.ws.runner
    return ctx.render("recording.html", title=rec.title, rec=rec, team=team,
                      job=job_json(job) if job else None, consents=consents, notes=notes,
                      events=events or [], has_report=_report_path(ctx.ws, rec) is not None,
                      uploaded=_fmt(rec.uploaded_at), uploader=uploader.display_name if uploader else "(erased)",
                      size_mb=round(rec.size_bytes / 1e6, 1),
                      runner_error=runner.error if runner else None,
                      may_delete=ctx.actor.role_in(rec.team_id) in ("admin", "coach") or rec.uploaded_by == ctx.user.id)


MEDIA_LINK_S = 6 * 3600
_VIDEO_SRC = re.compile(r'"video_src":\s*"[^"]*"')


def _media_sig(ws: Workspace, rid: int, exp: int) -> str:
    return hmac.new(ws.secret, f"media:{rid}:{exp}".encode(), hashlib.sha256).hexdigest()


@handler
def recording_report(ctx: Ctx, rid: int) -> Response:
    rec = _recording(ctx, rid)
    p = _report_path(ctx.ws, rec)
    if p is None:
        raise Denied(404, "no report yet")
    html = p.read_text(encoding="utf-8")
    origin = f"{ctx.request.url.scheme}://{ctx.request.headers.get('host', '')}"
    if rec.media_hash:
        # the report runs sandboxed (an opaque origin without cookies): its video comes from a
        # signed link that expires
        exp = int(utcnow().timestamp()) + MEDIA_LINK_S
        src = f"/recordings/{rid}/media?exp={exp}&sig={_media_sig(ctx.ws, rid, exp)}"
        html = _VIDEO_SRC.sub(lambda m: f'"video_src": {json.dumps(origin + src)}', html, count=1)
    else:
        html = _VIDEO_SRC.sub('"video_src": null', html, count=1)
    return HTMLResponse(html, headers={
        "Content-Security-Policy": "sandbox allow-scripts; default-src 'none'; script-src 'unsafe-inline'; "
                                   f"style-src 'unsafe-inline'; img-src data: blob:; media-src {origin}; font-src data:",
        "Cache-Control": "no-store"})


@handler(auth_required=False)
def recording_media(ctx: Ctx, rid: int) -> Response:
    """The recording's video, for a team member or a signed link from its report."""
    rec = ctx.db.get(Recording, rid)
    q = ctx.request.query_params
    if ctx.user is not None and rec is not None:
        rec = _recording(ctx, rid)
    else:
        try:
            exp = int(q.get("exp", "0"))
        except ValueError:
            exp = 0
        if (rec is None or exp < utcnow().timestamp()
                or not hmac.compare_digest(_media_sig(ctx.ws, rid, exp), q.get("sig", ""))):
            raise Denied(404, "no such recording")
    if rec.media_hash is None:
        raise Denied(404, "the media of this recording was deleted")
    return FileResponse(ctx.ws.layout.media_path(rec.media_hash, rec.media_ext),
                        media_type="video/mp4" if rec.media_ext == ".mp4" else "application/octet-stream",
                        headers={"Cache-Control": "private, no-store"})


@handler
def job_api(ctx: Ctx, jid: int) -> Response:
    job = ctx.db.get(AnalysisJob, jid)
    if job is None:
        raise Denied(404, "no such job")
    _recording(ctx, job.recording_id)
    return JSONResponse(job_json(job))


@handler
def recording_api(ctx: Ctx, rid: int) -> Response:
    rec = _recording(ctx, rid)
    job = ctx.db.scalar(select(AnalysisJob).where(AnalysisJob.recording_id == rid)
                        .order_by(AnalysisJob.id.desc()).limit(1))
    return JSONResponse({"id": rec.id, "team": rec.team_id, "title": rec.title,
                         "status": _status(ctx.db, rec), "media_sha256": rec.media_hash,
                         "analysis_sha256": rec.analysis_hash, "size_bytes": rec.size_bytes,
                         "job": job_json(job) if job else None,
                         "events": _events(ctx.ws, rec)})


@handler(post=True)
def note_post(ctx: Ctx, rid: int) -> Response:
    rec = _recording(ctx, rid)
    verdict = str(ctx.form.get("verdict", "note"))
    if verdict not in ("saw", "missed", "note"):
        raise InputError("a note says 'saw', 'missed' or is a plain note")
    try:
        t = float(ctx.form.get("t", 0) or 0)
        ev = ctx.form.get("event_index")
        ev = None if ev in (None, "") else int(ev)
    except (TypeError, ValueError):
        raise InputError("a note needs a time in seconds") from None
    text = str(ctx.form.get("text", "")).strip()[:2000]
    if verdict == "note" and not text:
        raise InputError("write the note")
    ctx.db.add(Note(recording_id=rec.id, user_id=ctx.user.id, event_index=ev, t=t,
                    verdict=verdict, text=text))
    ctx.db.commit()
    return RedirectResponse(f"/recordings/{rid}#notes", 303)


@handler(post=True)
def recording_delete(ctx: Ctx, rid: int) -> Response:
    rec = _recording(ctx, rid)
    if not (ctx.actor.role_in(rec.team_id) in ("admin", "coach") or rec.uploaded_by == ctx.user.id):
        raise Denied(403, "only the team's coaches and the uploader delete a recording")
    tid = rec.team_id
    delete_recording(ctx.db, ctx.ws.layout, rec, ctx.user, reason="deleted by a user")
    ctx.db.commit()
    return RedirectResponse(f"/teams/{tid}", 303)


# people, users, audit ------------------------------------------------------------------------------
@handler
def people_page(ctx: Ctx, tid: int) -> Response:
    team = _team(ctx, tid)
    ctx.actor.manage_team(tid)
    people = [{"id": p.id, "name": p.name, "recordings": len(person_recordings(ctx.db, p))}
              for p in ctx.db.scalars(select(Person).where(Person.team_id == tid).order_by(Person.name))]
    return ctx.render("people.html", title="People recorded", team=team, people=people)


def _person(ctx: Ctx, pid: int) -> Person:
    p = _team_row(ctx, Person, pid, "person")
    ctx.actor.manage_team(p.team_id)
    return p


@handler
def person_export(ctx: Ctx, pid: int) -> Response:
    p = _person(ctx, pid)
    tmp = tempfile.NamedTemporaryFile(prefix="tells-export-", suffix=".zip", delete=False,
                                      dir=ctx.ws.layout.staging)
    tmp.close()
    export_person(ctx.db, ctx.ws.layout, p, Path(tmp.name))
    ctx.audit("export.person", p.team_id, f"person:{p.id}")
    ctx.db.commit()
    from starlette.background import BackgroundTask

    return FileResponse(tmp.name, media_type="application/zip", filename=f"tells-person-{p.id}.zip",
                        background=BackgroundTask(lambda: Path(tmp.name).unlink(missing_ok=True)))


@handler(post=True)
def person_erase(ctx: Ctx, pid: int) -> Response:
    p = _person(ctx, pid)
    tid = p.team_id
    n = erase_person(ctx.db, ctx.ws.layout, p, ctx.user)
    ctx.db.commit()
    if _wants_json(ctx.request):
        return JSONResponse({"erased_recordings": n})
    return RedirectResponse(f"/teams/{tid}/people", 303)


@handler
def user_export(ctx: Ctx, uid: int) -> Response:
    if uid != ctx.user.id:
        ctx.actor.require_admin()
    u = ctx.db.get(User, uid)
    if u is None:
        raise Denied(404, "no such user")
    data = export_user(ctx.db, u, ctx.ws.trainer)
    ctx.audit("export.user", None, f"user:{uid}")
    ctx.db.commit()
    return JSONResponse(data, headers={"Content-Disposition": f'attachment; filename="tells-user-{uid}.json"'})


@handler(post=True)
def user_erase(ctx: Ctx, uid: int) -> Response:
    ctx.actor.require_admin()
    u = ctx.db.get(User, uid)
    if u is None:
        raise Denied(404, "no such user")
    if u.id == ctx.user.id:
        raise InputError("an admin cannot erase their own account here; use another admin")
    erase_user(ctx.db, u, ctx.user, ctx.ws.trainer)
    ctx.db.commit()
    return JSONResponse({"erased_user": uid})


@handler
def audit_page(ctx: Ctx, tid: int) -> Response:
    team = _team(ctx, tid)
    ctx.actor.manage_team(tid)
    rows = ctx.db.scalars(select(AuditEntry).where(AuditEntry.team_id == tid)
                          .order_by(AuditEntry.id.desc()).limit(500)).all()
    entries = [{"at": _fmt(a.at), "actor": a.actor, "action": a.action, "target": a.target,
                "detail": json.dumps({k: v for k, v in (a.detail or {}).items() if k != "ip"})} for a in rows]
    if _wants_json(ctx.request):
        return JSONResponse([{**e, "detail": json.loads(e["detail"])} for e in entries])
    return ctx.render("audit.html", title="Audit log", team=team, entries=entries)


# training ------------------------------------------------------------------------------------------
class WorkspaceScope(OpenScope):
    """The signed-in account's training: the trainee is the account, other people's sessions
    do not exist, reviewing items is for coaches; an open assignment picks the pack."""

    def __init__(self, ws: Workspace, user: User, actor: Actor):
        super().__init__(ws.trainer)
        self.ws, self.user, self.actor = ws, user, actor

    def _trainee_id(self) -> int | None:
        from tells.trainer.db import Trainee

        with Session(self.trainer.engine) as db:
            return db.scalar(select(Trainee.id).where(Trainee.name == self.user.username))

    def trainee(self, asked: str) -> str:
        return self.user.username

    def config(self, asked: dict) -> dict:
        out = {k: v for k, v in (asked or {}).items() if k != "packs"}
        with Session(self.ws.engine) as db:
            open_ = [a for a in _assignments_for(db, self.user.id, self.actor) if not a["done"]]
        if open_:
            out["packs"] = [open_[0]["pack"]]
        return out

    def check_session(self, sid: int) -> None:
        from tells.trainer.db import TrainingSession

        with Session(self.trainer.engine) as db:
            s = db.get(TrainingSession, int(sid))
            if s is None or s.trainee.name != self.user.username:
                raise LookupError(sid)

    def trainees(self) -> list[dict]:
        return [t for t in self.trainer.trainees() if t["name"] == self.user.username] or \
            [{"id": None, "name": self.user.username, "sessions": 0}]

    def progress(self) -> list[dict]:
        tid = self._trainee_id()
        return self.trainer.progress(tid) if tid is not None else []

    def export_csv(self) -> str:
        rows = list(csv.reader(io.StringIO(self.trainer.export_csv())))
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerows([rows[0]] + [r for r in rows[1:] if r and r[0] == self.user.username])
        return buf.getvalue()

    def may_review(self) -> bool:
        return self.actor.admin or "coach" in self.actor.teams.values()


def trainer_scope(request: Request) -> WorkspaceScope:
    ws: Workspace = request.app.state.ws
    with Session(ws.engine) as db:
        found = auth.session_for(db, request.cookies.get(auth.COOKIE))
        if not found:
            raise PermissionError("log in first")
        login, user = found
        if request.method not in ("GET", "HEAD") and not (
                _origin_ok(request) and auth.csrf_ok(login, request.headers.get("x-csrf-token"))):
            raise PermissionError("missing or expired CSRF token")
        actor = Actor.load(db, user)
        db.expunge_all()
        return WorkspaceScope(ws, user, actor)


@handler
def train_page(ctx: Ctx) -> Response:
    return ctx.render("train.html", title="Train")


def _assignments_for(db: Session, uid: int, actor: Actor) -> list[dict]:
    from tells.trainer.db import Trainee, TrainingSession

    teams = [t for t, r in actor.teams.items() if r == "member"] or list(actor.teams)
    rows = db.scalars(select(Assignment).where(Assignment.team_id.in_(teams or [-1]),
                                               (Assignment.user_id.is_(None)) | (Assignment.user_id == uid))
                      .order_by(Assignment.due)).all()
    user = db.get(User, uid)
    finished = db.execute(select(TrainingSession.finished_at, TrainingSession.config)
                          .join(Trainee, Trainee.id == TrainingSession.trainee_id)
                          .where(Trainee.name == user.username, TrainingSession.finished_at.is_not(None))).all()
    out = []
    for a in rows:
        done = any(aware(f) >= aware(a.created_at) and a.pack in (cfg.get("packs") or [a.pack])
                   for f, cfg in finished)
        out.append({"id": a.id, "pack": a.pack, "due": aware(a.due).date().isoformat(), "done": done,
                    "user": a.user_id})
    return out


def _my_assignments(ctx: Ctx) -> list[dict]:
    return _assignments_for(ctx.db, ctx.user.id, ctx.actor)


def training_summary(ws: Workspace, username: str) -> dict:
    """One person's training: sessions, latest pre/post accuracy, per-emotion post-test
    accuracy per session, shortest flash mastered."""
    from tells.trainer.db import Trainee
    from tells.trainer.emotions import EMOTIONS

    with Session(ws.engine) as db:
        tid = db.scalar(select(Trainee.id).where(Trainee.name == username))
    hist = ws.trainer.progress(tid)[0]["sessions"] if tid is not None else []
    done = [s for s in hist if s["complete"]]
    latest = done[-1] if done else None
    per_emotion = []
    for s in done:
        rep = ws.trainer.report(s["session"])
        row = {"session": s["session"], "date": (s["started_at"] or "")[:10]}
        for e in rep["per_emotion"]:
            row[e["emotion"]] = e["posttest"]["accuracy"]
        per_emotion.append(row)
    mastered = [s["mastered_ms"] for s in hist if s["mastered_ms"] is not None]
    return {"sessions": len(hist), "pre": latest["pretest_accuracy"] if latest else None,
            "post": latest["posttest_accuracy"] if latest else None,
            "mastered_ms": min(mastered) if mastered else None, "per_emotion": per_emotion,
            "emotions": list(EMOTIONS), "history": hist}


@handler
def training_api(ctx: Ctx, uid: int) -> Response:
    ctx.actor.see_training(ctx.db, uid)
    u = ctx.db.get(User, uid)
    if u is None:
        raise Denied(404, "no such person")
    return JSONResponse({"user": u.username, **training_summary(ctx.ws, u.username)})


def _dashboard_data(ctx: Ctx, tid: int) -> tuple[list[dict], dict]:
    from tells.trainer.emotions import EMOTIONS

    members = [m for m in _members(ctx.db, tid) if m["role"] == "member"]
    assignments = ctx.db.scalars(select(Assignment).where(Assignment.team_id == tid)).all()
    out = []
    for m in members:
        s = training_summary(ctx.ws, m["username"])
        actor = Actor.load(ctx.db, ctx.db.get(User, m["id"]))
        mine = [a for a in _assignments_for(ctx.db, m["id"], actor)
                if any(x.id == a["id"] for x in assignments)]
        out.append({**m, **s, "assignments": mine})
    trained = [m for m in out if m["post"] is not None]
    def mean(xs):
        return (round(sum(xs) / len(xs), 4) if xs else None)
    stats = {"members": len(out), "members_trained": len(trained),
             "pre": mean([m["pre"] for m in trained if m["pre"] is not None]),
             "post": mean([m["post"] for m in trained]), "emotions": list(EMOTIONS)}
    return out, stats


@handler
def dashboard(ctx: Ctx, tid: int) -> Response:
    from tells.trainer.emotions import EMOTIONS
    from tells.trainer.packs import list_packs

    team = _team(ctx, tid)
    ctx.actor.manage_team(tid)
    members, stats = _dashboard_data(ctx, tid)
    if _wants_json(ctx.request):
        return JSONResponse({"team": stats, "members": [{k: v for k, v in m.items() if k != "history"}
                                                        for m in members]})
    return ctx.render("dashboard.html", title="Dashboard", team=team, members=members,
                      team_stats=stats, emotions=EMOTIONS,
                      packs=[p.name for p in list_packs(ctx.ws.trainer.library)])


@handler(post=True)
def assignment_post(ctx: Ctx, tid: int) -> Response:
    from tells.trainer.packs import list_packs

    _team(ctx, tid)
    ctx.actor.manage_team(tid)
    pack = str(ctx.form.get("pack", ""))
    if pack not in {p.name for p in list_packs(ctx.ws.trainer.library)}:
        raise InputError(f"no pack {pack!r} in the library")
    try:
        due = datetime.fromisoformat(str(ctx.form.get("due", ""))).replace(tzinfo=UTC)
    except ValueError:
        raise InputError("give a due date (YYYY-MM-DD)") from None
    uid = ctx.form.get("user")
    uid = int(uid) if uid not in (None, "") else None
    if uid is not None and ctx.db.scalar(select(Membership.id).where(
            Membership.team_id == tid, Membership.user_id == uid)) is None:
        raise InputError("that person is not in this team")
    ctx.db.add(Assignment(team_id=tid, user_id=uid, pack=pack, due=due, created_by=ctx.user.id))
    ctx.audit("assign", tid, f"pack:{pack}", {"user": uid})
    ctx.db.commit()
    return RedirectResponse(f"/teams/{tid}/dashboard", 303)


# the app ---------------------------------------------------------------------------------------------
class SecurityHeaders:
    """ASGI middleware: refuse other Host names when bound to loopback (DNS rebinding), add
    security headers to every response."""

    def __init__(self, app, loopback_only: bool):
        self.app, self.loopback_only = app, loopback_only

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.loopback_only:
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").rsplit(":", 1)[0]
            if host not in ("127.0.0.1", "localhost"):
                await JSONResponse({"error": "this workspace answers only on 127.0.0.1"}, 403)(scope, receive, send)
                return

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {k.lower() for k, _ in headers}
                for k, v in ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"SAMEORIGIN"),
                             (b"referrer-policy", b"same-origin"),
                             (b"content-security-policy", b"default-src 'self'; img-src 'self' data: blob:; "
                              b"style-src 'self' 'unsafe-inline'; frame-ancestors 'self'; form-action 'self'")):
                    if k not in names:
                        headers.append((k, v))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _not_found(request, exc):
    return error_response(request, getattr(exc, "status_code", 404), getattr(exc, "detail", "not found"))


def make_app(ws: Workspace) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app):
        ws.layout.clear_staging()
        if ws.runner is not None:
            ws.runner.start()
        try:
            yield
        finally:
            if ws.runner is not None:
                await run_in_threadpool(ws.runner.stop)

    get, post = ["GET"], ["POST"]
    routes = [
        Route("/", home, methods=get),
        Route("/login", login_page, methods=get),
        Route("/login", login_post, methods=post),
        Route("/logout", logout, methods=post),
        Route("/api/v1/session", session_json, methods=get),
        Route("/teams", team_create, methods=post),
        Route("/teams/{tid:int}", team_page, methods=get),
        Route("/teams/{tid:int}/invitations", invite_create, methods=post),
        Route("/teams/{tid:int}/retention", retention_post, methods=post),
        Route("/teams/{tid:int}/upload", upload_page, methods=get),
        Route("/teams/{tid:int}/recordings", upload_post, methods=post),
        Route("/teams/{tid:int}/people", people_page, methods=get),
        Route("/teams/{tid:int}/audit", audit_page, methods=get),
        Route("/teams/{tid:int}/dashboard", dashboard, methods=get),
        Route("/teams/{tid:int}/assignments", assignment_post, methods=post),
        Route("/invite/{token}", invite_page, methods=get),
        Route("/invite/{token}", invite_accept, methods=post),
        Route("/recordings/{rid:int}", recording_page, methods=get),
        Route("/recordings/{rid:int}/report", recording_report, methods=get),
        Route("/recordings/{rid:int}/media", recording_media, methods=get),
        Route("/recordings/{rid:int}/notes", note_post, methods=post),
        Route("/recordings/{rid:int}/delete", recording_delete, methods=post),
        Route("/api/v1/recordings/{rid:int}", recording_api, methods=get),
        Route("/api/v1/jobs/{jid:int}", job_api, methods=get),
        Route("/api/v1/training/{uid:int}", training_api, methods=get),
        Route("/people/{pid:int}/export", person_export, methods=get),
        Route("/people/{pid:int}/erase", person_erase, methods=post),
        Route("/users/{uid:int}/export", user_export, methods=get),
        Route("/users/{uid:int}/erase", user_erase, methods=post),
        Route("/favicon.ico", lambda request: Response(status_code=204), methods=get),
        Route("/train", train_page, methods=get),
        Route("/progress", train_page, methods=get),
        Route("/review", train_page, methods=get),
        *[r for r in trainer_routes(trainer_scope)
          if r.path not in ("/", "/index.html", "/progress", "/review", "/train")],
    ]
    from starlette.routing import Mount

    routes.append(Mount("/ws", app=StaticFiles(directory=HERE / "static"), name="ws-static"))
    app = Starlette(routes=routes, lifespan=lifespan, exception_handlers={404: _not_found, 405: _not_found})
    app.state.ws = ws
    app.add_middleware(SecurityHeaders, loopback_only=not ws.config.public)
    return app


def count_users(engine) -> int:
    with Session(engine) as db:
        return db.scalar(select(func.count()).select_from(User))
