"""Who may see and do what. One place, so the route × role tests check one rule set.

Roles: an account is ``admin`` (every team, user administration), ``coach`` (may create
teams) or ``member``; within a team a membership is ``coach`` or ``member``. A team's
recordings are seen by its coaches and members (calls are reviewed together) and by admins;
a member's training is seen by the member, the coaches of a team the member belongs to, and
admins. Nobody outside a team learns that its recordings exist (they get 404).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from tells.server.db import Membership, User


class Denied(Exception):
    """The signed-in user may not do this (HTTP 403), or may not know it exists (404)."""

    def __init__(self, status: int = 403, message: str = "you may not do this"):
        super().__init__(message)
        self.status = status


@dataclass
class Actor:
    user: User
    #: team id -> "coach" | "member"
    teams: dict[int, str] = field(default_factory=dict)

    @classmethod
    def load(cls, db: Session, user: User) -> Actor:
        rows = db.execute(select(Membership.team_id, Membership.role)
                          .where(Membership.user_id == user.id)).all()
        return cls(user, {t: r for t, r in rows})

    @property
    def id(self) -> int:
        return self.user.id

    @property
    def admin(self) -> bool:
        return self.user.role == "admin"

    def role_in(self, team_id: int) -> str | None:
        if self.admin:
            return "admin"
        return self.teams.get(team_id)

    # checks (raise Denied) -----------------------------------------------------------------
    def see_team(self, team_id: int) -> str:
        role = self.role_in(team_id)
        if role is None:
            raise Denied(404, "no such team")
        return role

    def manage_team(self, team_id: int) -> None:
        if self.see_team(team_id) not in ("admin", "coach"):
            raise Denied(403, "only the team's coaches may do this")

    def create_team(self) -> None:
        if self.user.role not in ("admin", "coach"):
            raise Denied(403, "only coaches and admins create teams")

    def see_training(self, db: Session, user_id: int) -> None:
        if self.admin or user_id == self.id:
            return
        coached = {t for t, r in self.teams.items() if r == "coach"}
        if coached and db.scalar(select(Membership.id).where(
                Membership.user_id == user_id, Membership.team_id.in_(coached))) is not None:
            return
        raise Denied(404, "no such person")

    def require_admin(self) -> None:
        if not self.admin:
            raise Denied(403, "only an admin may do this")
