"""Passwords (argon2id), login sessions in HTTP-only SameSite cookies, CSRF tokens and login
rate limiting.

The cookie holds a random secret; the database keeps only its SHA-256, so a copy of the
database does not let anyone log in. Every login makes a new session (no session fixation) and
logging out deletes it. The CSRF token belongs to the session: it is checked on every
state-changing request, and a token from an ended or other session is refused. Failed logins
are counted per account name and per client address in the database, so the limit holds
across restarts.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from tells.errors import InputError
from tells.server.db import Login, LoginAttempt, User, aware, utcnow

COOKIE = "tells_session"
SESSION_DAYS = 7
#: failed logins allowed per account name, and per client address, within the window
MAX_FAILURES = 5
MAX_FAILURES_PER_IP = 30
FAILURE_WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10

# argon2id at OWASP's recommended minimum (19 MiB, 2 passes, 1 lane): about 0.1 s a login on
# a small server, so 50 people logging in at once do not stall it
_hasher = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)


def hash_password(password: str) -> str:
    check_password(password)
    return _hasher.hash(password)


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise InputError(f"choose a password of at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise InputError("that password is too long (at most 1024 characters)")


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# a hash to verify against when the account does not exist, so both cases take as long
_DUMMY = _hasher.hash(secrets.token_urlsafe(16))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token() -> str:
    return secrets.token_urlsafe(32)


class RateLimited(Exception):
    """Too many failed logins for this account name or client address."""


def rate_limited(db: Session, username: str, ip: str) -> bool:
    since = utcnow() - FAILURE_WINDOW
    for col, value, limit in ((LoginAttempt.username, username, MAX_FAILURES),
                              (LoginAttempt.ip, ip, MAX_FAILURES_PER_IP)):
        n = db.scalar(select(func.count()).select_from(LoginAttempt)
                      .where(col == value, LoginAttempt.ok.is_(False), LoginAttempt.at >= since))
        if n >= limit:
            return True
    return False


def authenticate(db: Session, username: str, password: str, ip: str) -> User | None:
    """The user when the password is right; records the attempt.

    Raises
    ------
    RateLimited
        :data:`MAX_FAILURES` failures for the name (or :data:`MAX_FAILURES_PER_IP` for the
        address) in the window; the password is not even checked.
    """
    username = (username or "").strip().lower()[:64]
    if rate_limited(db, username, ip):
        raise RateLimited()
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else _DUMMY, password or "") and user is not None
    db.add(LoginAttempt(username=username, ip=ip[:64], ok=ok))
    db.execute(delete(LoginAttempt).where(LoginAttempt.at < utcnow() - 4 * FAILURE_WINDOW))
    db.commit()
    return user if ok else None


def start_session(db: Session, user: User, old_secret: str | None = None) -> tuple[str, Login]:
    """A fresh session for ``user`` (an old one from the same browser is ended first)."""
    if old_secret:
        db.execute(delete(Login).where(Login.id == digest(old_secret)))
    secret = new_token()
    login = Login(id=digest(secret), user_id=user.id, csrf=new_token(),
                  expires_at=utcnow() + timedelta(days=SESSION_DAYS))
    db.add(login)
    db.execute(delete(Login).where(Login.expires_at < utcnow()))
    db.commit()
    return secret, login


def session_for(db: Session, secret: str | None) -> tuple[Login, User] | None:
    if not secret or len(secret) > 100:
        return None
    login = db.get(Login, digest(secret))
    if login is None or aware(login.expires_at) < utcnow():
        return None
    user = db.get(User, login.user_id)
    return (login, user) if user else None


def end_session(db: Session, secret: str | None) -> None:
    if secret:
        db.execute(delete(Login).where(Login.id == digest(secret)))
        db.commit()


def end_all_sessions(db: Session, user_id: int) -> None:
    db.execute(delete(Login).where(Login.user_id == user_id))


def csrf_ok(login: Login | None, token: str | None) -> bool:
    return bool(login and token) and hmac.compare_digest(login.csrf, str(token))


def expired(dt: datetime | None) -> bool:
    return dt is not None and aware(dt) < utcnow()
