"""The team workspace, ``tells serve``: accounts, teams, recordings with consent, analysis
jobs, training, coaching dashboard, retention and audit, as an ASGI app (Starlette on uvicorn)
over SQLAlchemy (SQLite or PostgreSQL, Alembic migrations).

Modules: :mod:`.db` (tables, opening and migrating), :mod:`.auth` (passwords, login sessions,
CSRF, rate limiting), :mod:`.access` (who may see and do what), :mod:`.storage` (media and
analysis folders, streamed uploads checked by decoding), :mod:`.jobs` (analysis jobs on the
batch worker pool), :mod:`.records` (retention, export, erasure, audit), :mod:`.app` (routes
and pages), :mod:`.bench` (``tells bench serve``). This layer may import every layer but
``cli``; nothing imports it but ``cli``.

Micro-expressions are cues to an emotion, not proof of deception; people recorded must be told
that emotion recognition is used on them (EU AI Act, Art. 50), hence the consent record every
upload requires.
"""
