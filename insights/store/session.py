"""Engine and sessions: one engine per database URL per process, created lazily.

The schema is owned by Alembic (``insights/store/migrations``): :func:`init_db` upgrades the
database to the newest revision, so an old SQLite file or a shared PostgreSQL is migrated in place.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from insights.config import get_settings

logger = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_engines: dict[str, Engine] = {}
_ready: set[str] = set()
_lock = threading.Lock()


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL lets a reader (``insights jobs``) look while a pipeline writes; foreign keys are off
    # by default in SQLite.
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def get_engine(url: str | None = None) -> Engine:
    """The process's engine for ``url`` (default: the settings' database), migrated to head."""
    url = url or get_settings().db_url()
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
                engine = create_engine(url)
                event.listen(engine, "connect", _sqlite_pragmas)
            else:
                engine = create_engine(url, pool_pre_ping=True)
            _engines[url] = engine
        if url not in _ready:
            init_db(engine)
            _ready.add(url)
    return engine


def init_db(engine: Engine) -> None:
    """Upgrade the database behind ``engine`` to the newest schema revision."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


def dispose_engines() -> None:
    """Drop pooled connections (after a fork, a child must not share its parent's sockets)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose(close=False)
        _engines.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session whose work commits together at the end, or rolls back on error."""
    factory = sessionmaker(bind=get_engine(url), expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
