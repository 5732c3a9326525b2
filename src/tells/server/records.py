"""The audit log, the retention policy, and export and erasure of one recorded person or one
user.

Deleting always removes the files and the rows together: a recording's media file goes when
no other recording holds the same content, its analysis folder when no other recording uses
it. The audit log keeps that something was deleted (by whom, when, how many files), never the
deleted content.
"""

from __future__ import annotations

import json
import shutil
import zipfile
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, func, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tells.server.db import (
    AnalysisJob,
    AuditEntry,
    Consent,
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
from tells.server.storage import Layout


def audit(db: Session, actor: User | None, action: str, team_id: int | None, target: str = "",
          detail: dict | None = None) -> None:
    """Add an audit entry to ``db`` (committed with the caller's transaction)."""
    db.add(AuditEntry(actor_id=actor.id if actor else None,
                      actor=actor.username if actor else "tells", action=action,
                      team_id=team_id, target=target, detail=detail or {}))


def _iso(dt):
    dt = aware(dt)
    return None if dt is None else dt.isoformat(timespec="seconds")


# deletion --------------------------------------------------------------------------------------
def delete_media(db: Session, layout: Layout, rec: Recording) -> int:
    """Remove the recording's media file (unless another recording holds the same content)."""
    if rec.media_hash is None:
        return 0
    h, ext = rec.media_hash, rec.media_ext
    others = db.scalar(select(func.count()).select_from(Recording).where(
        Recording.media_hash == h, Recording.id != rec.id))
    rec.media_hash = None
    rec.media_deleted_at = utcnow()
    if others:
        return 0
    p = layout.media_path(h, ext)
    if p.exists():
        p.unlink()
        return 1
    return 0


def delete_derived(db: Session, layout: Layout, rec: Recording) -> int:
    """Remove the recording's analysis (shared tables only when no other recording uses
    them), its context report and transcript/agenda files, and its notes."""
    n = 0
    for p in (layout.reports / str(rec.id), layout.context / str(rec.id)):
        if p.exists():
            shutil.rmtree(p)
            n += 1
    h = rec.analysis_hash
    if h:
        others = db.scalar(select(func.count()).select_from(Recording).where(
            Recording.analysis_hash == h, Recording.id != rec.id))
        if not others and layout.analysis_dir(h).exists():
            shutil.rmtree(layout.analysis_dir(h))
            n += 1
    rec.analysis_hash = None
    rec.derived_deleted_at = utcnow()
    db.execute(delete(Note).where(Note.recording_id == rec.id))
    return n


def delete_recording(db: Session, layout: Layout, rec: Recording, actor: User | None,
                     reason: str) -> None:
    files = delete_media(db, layout, rec) + delete_derived(db, layout, rec)
    audit(db, actor, "delete", rec.team_id, f"recording:{rec.id}", {"reason": reason, "files": files})
    db.execute(delete(AnalysisJob).where(AnalysisJob.recording_id == rec.id))
    db.execute(delete(Consent).where(Consent.recording_id == rec.id))
    db.delete(rec)


def enforce_retention(engine: Engine, layout: Layout, actor: User | None = None) -> dict:
    """Apply every team's retention policy: media older than ``retention_days`` is deleted,
    and the derived tables too unless the team keeps them. Returns counts."""
    out = {"media_deleted": 0, "derived_deleted": 0, "recordings": 0}
    with Session(engine) as db:
        for team in db.scalars(select(Team).where(Team.retention_days.is_not(None))).all():
            cutoff = utcnow() - timedelta(days=team.retention_days)
            recs = db.scalars(select(Recording).where(Recording.team_id == team.id,
                                                      Recording.uploaded_at <= cutoff)).all()
            for rec in recs:
                # a recording whose analysis is still to run keeps its media until it ran
                busy = db.scalar(select(AnalysisJob.id).where(
                    AnalysisJob.recording_id == rec.id,
                    AnalysisJob.status.in_(("queued", "running"))))
                if busy is not None:
                    continue
                touched = False
                if rec.media_hash is not None:
                    out["media_deleted"] += delete_media(db, layout, rec) or 0
                    touched = True
                if not team.retention_keep_derived and rec.derived_deleted_at is None:
                    delete_derived(db, layout, rec)
                    out["derived_deleted"] += 1
                    touched = True
                if touched:
                    out["recordings"] += 1
                    audit(db, actor, "purge", team.id, f"recording:{rec.id}",
                          {"retention_days": team.retention_days,
                           "derived": not team.retention_keep_derived})
        db.commit()
    return out


# export ----------------------------------------------------------------------------------------
def _recording_json(db: Session, rec: Recording) -> dict:
    consents = db.scalars(select(Consent).where(Consent.recording_id == rec.id)).all()
    return {"id": rec.id, "team": rec.team_id, "title": rec.title,
            "uploaded_at": _iso(rec.uploaded_at), "media_sha256": rec.media_hash,
            "size_bytes": rec.size_bytes, "duration_s": rec.duration_s,
            "consents": [{"person": db.get(Person, c.person_id).name, "given_by": c.given_by,
                          "given_at": _iso(c.given_at), "notice": c.notice} for c in consents],
            "notes": [{"user": n.user_id, "t": n.t, "event_index": n.event_index,
                       "verdict": n.verdict, "text": n.text, "at": _iso(n.created_at)}
                      for n in db.scalars(select(Note).where(Note.recording_id == rec.id))]}


def person_recordings(db: Session, person: Person) -> list[Recording]:
    ids = select(Consent.recording_id).where(Consent.person_id == person.id)
    return list(db.scalars(select(Recording).where(Recording.id.in_(ids))).all())


def export_person(db: Session, layout: Layout, person: Person, dest: Path) -> Path:
    """A zip with everything held about one recorded person: consent records, the recordings
    they appear in (media and analysis files) and the notes on them."""
    recs = person_recordings(db, person)
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("person.json", json.dumps({
            "person": person.name, "team": person.team_id, "created_at": _iso(person.created_at),
            "recordings": [_recording_json(db, r) for r in recs]}, indent=1))
        for r in recs:
            if r.media_hash:
                p = layout.media_path(r.media_hash, r.media_ext)
                if p.exists():
                    z.write(p, f"recording-{r.id}/media{r.media_ext}")
            if r.analysis_hash and layout.analysis_dir(r.analysis_hash).exists():
                for f in sorted(layout.analysis_dir(r.analysis_hash).iterdir()):
                    if f.is_file():
                        z.write(f, f"recording-{r.id}/analysis/{f.name}")
    return dest


def export_user(db: Session, user: User, trainer) -> dict:
    """Everything held about one account: profile, memberships, notes, uploads, training."""
    from tells.trainer.db import Trainee

    teams = db.execute(select(Membership.team_id, Membership.role)
                       .where(Membership.user_id == user.id)).all()
    notes = db.scalars(select(Note).where(Note.user_id == user.id)).all()
    uploads = db.scalars(select(Recording.id).where(Recording.uploaded_by == user.id)).all()
    training = []
    with Session(trainer.engine) as tdb:
        t = tdb.scalar(select(Trainee).where(Trainee.name == user.username))
        if t is not None:
            training = trainer.progress(t.id)
    return {"user": {"id": user.id, "username": user.username, "display_name": user.display_name,
                     "role": user.role, "created_at": _iso(user.created_at)},
            "teams": [{"team": t, "role": r} for t, r in teams],
            "notes": [{"recording": n.recording_id, "t": n.t, "verdict": n.verdict,
                       "text": n.text, "at": _iso(n.created_at)} for n in notes],
            "uploads": list(uploads), "training": training}


# erasure ---------------------------------------------------------------------------------------
def erase_person(db: Session, layout: Layout, person: Person, actor: User) -> int:
    """Delete every recording the person appears in (files and rows) and the person."""
    recs = person_recordings(db, person)
    for r in recs:
        delete_recording(db, layout, r, actor, reason=f"erasure of person {person.id}")
    audit(db, actor, "erase.person", person.team_id, f"person:{person.id}", {"recordings": len(recs)})
    db.delete(person)
    return len(recs)


def erase_user(db: Session, user: User, actor: User, trainer) -> None:
    """Delete the account, its sessions, notes, memberships and training answers. Recordings
    it uploaded belong to the team and stay (without the uploader); audit entries lose the
    name."""
    from tells.trainer.db import Answer, Trainee, TrainingSession

    with Session(trainer.engine) as tdb:
        t = tdb.scalar(select(Trainee).where(Trainee.name == user.username))
        if t is not None:
            sids = select(TrainingSession.id).where(TrainingSession.trainee_id == t.id)
            tdb.execute(delete(Answer).where(Answer.session_id.in_(sids)))
            tdb.execute(delete(TrainingSession).where(TrainingSession.trainee_id == t.id))
            tdb.delete(t)
            tdb.commit()
    uid = user.id
    db.execute(delete(Note).where(Note.user_id == uid))
    db.execute(delete(Login).where(Login.user_id == uid))
    db.execute(delete(Membership).where(Membership.user_id == uid))
    db.execute(update(Recording).where(Recording.uploaded_by == uid).values(uploaded_by=None))
    db.execute(update(Consent).where(Consent.recorded_by == uid).values(recorded_by=None))
    db.execute(update(AuditEntry).where(AuditEntry.actor_id == uid)
               .values(actor_id=None, actor="(erased user)"))
    audit(db, actor, "erase.user", None, f"user:{uid}", {})
    db.delete(user)
