"""The one root conftest: an isolated cache with the fast models built once per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from insights.config import get_settings


@pytest.fixture(scope="session", autouse=True)
def _isolated_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    mp = pytest.MonkeyPatch()
    cache = tmp_path_factory.mktemp("cache")
    mp.setenv("INSIGHTS_CACHE_DIR", str(cache))
    mp.setenv("INSIGHTS_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    get_settings.cache_clear()
    yield cache
    mp.undo()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def fast_models(_isolated_settings: Path) -> Path:
    """Train the fast backend from the checked-in corpus, once per session."""
    from insights.nlp.store import model_dir
    from insights.nlp.train import build_fast_models

    return build_fast_models(out=model_dir(get_settings()))


@pytest.fixture(scope="session")
def fast_pipeline(fast_models: Path):  # type: ignore[no-untyped-def]
    from insights.nlp.pipeline import get_pipeline

    return get_pipeline("fast")


@pytest.fixture(scope="session")
def synth_calls(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A two-voice call rendered by espeak-ng: stereo (with sidecar) and mono, plus the truth timeline."""
    import json

    from insights.asr.synth import DEMO_TURNS, espeak_available, make_call, write_audio

    if not espeak_available():
        pytest.fail("espeak-ng is needed to make test calls (apt-get install espeak-ng; .ci/run does this)")
    folder = tmp_path_factory.mktemp("calls")
    stereo, timeline = make_call(DEMO_TURNS, stereo=True)
    mono, _ = make_call(DEMO_TURNS, stereo=False)
    write_audio(folder / "stereo.ogg", stereo)
    (folder / "stereo.json").write_text(
        json.dumps({"call_id": "stereo", "channels": {"left": "caller", "right": "hcp"}}), encoding="utf-8"
    )
    write_audio(folder / "mono.mp3", mono)
    return {
        "folder": folder,
        "stereo": folder / "stereo.ogg",
        "mono": folder / "mono.mp3",
        "timeline": timeline,
    }


PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test session (the CI service: 127.0.0.1:5432, trust auth)."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import OperationalError

    name = f"insights_test_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as exc:
        pytest.fail(f"PostgreSQL is needed at 127.0.0.1:5432 (.ci/run starts it): {exc}")
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"
    from insights.store.session import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty, migrated database: a SQLite file, then the session's PostgreSQL database emptied."""
    from insights.store.session import get_engine

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'insights.db'}"
        get_engine(url)
        return url
    return request.getfixturevalue("pg_url")


@pytest.fixture
def pg_url(pg_database: str) -> str:
    """The session's PostgreSQL database, migrated and emptied for this test."""
    from sqlalchemy import text

    from insights.store.models import Base
    from insights.store.session import get_engine

    tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
    with get_engine(pg_database).begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    return pg_database
