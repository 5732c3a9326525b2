"""Alembic environment: runs migrations on the connection :func:`tells.server.db.migrate`
passes in, or on ``sqlalchemy.url`` when run by the ``alembic`` command. Only the workspace's
own tables (``ws_*``) belong to these migrations; the trainer's tables have theirs."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from tells.server.db import VERSION_TABLE, Base

config = context.config
target_metadata = Base.metadata


def _include(obj, name, type_, reflected, compare_to) -> bool:
    return type_ != "table" or name.startswith("ws_")


def _configure(**kw) -> None:
    context.configure(target_metadata=target_metadata, version_table=VERSION_TABLE,
                      include_object=_include, render_as_batch=True, **kw)


def run() -> None:
    conn = config.attributes.get("connection")
    if conn is not None:
        _configure(connection=conn)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(config.get_section(config.config_ini_section) or {},
                                prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    run()
