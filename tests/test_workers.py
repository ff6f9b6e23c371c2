"""Reliability with real processes: a Celery worker, a Redis server, PostgreSQL.

Each test starts its own Redis server (on a free port, no persistence, like the service) so that it
can restart it, and its own worker processes, which it may kill with SIGKILL.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from insights.config import get_settings
from insights.ingest import queue, service
from insights.store.models import Job, Segment, Tag, TagEvent
from insights.store.session import session_scope

pytestmark = pytest.mark.slow

HCP = {"id": "hcp-001", "name": "王建国", "department": "肿瘤科", "market_tier": "core"}
ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        exe = shutil.which("redis-server")
        if exe is None:
            pytest.fail("redis-server is needed (Debian package redis-server; .ci/run uses the service's)")
        self.proc = subprocess.Popen(
            [
                exe,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return
            except OSError:
                time.sleep(0.05)
        pytest.fail("redis-server did not start")

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def broker(
    redis_server: RedisServer, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """Settings for this process and the workers: the private Redis, PostgreSQL, a short visibility timeout."""
    env = {
        "INSIGHTS_BROKER_URL": redis_server.url,
        "INSIGHTS_DATABASE_URL": pg_url,
        # A task whose worker was killed comes back after this many seconds.
        "INSIGHTS_VISIBILITY_TIMEOUT_S": "12",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    get_settings.cache_clear()
    queue._client.cache_clear()
    yield env
    get_settings.cache_clear()
    queue._client.cache_clear()


class Worker:
    def __init__(self, log: Path) -> None:
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, *, concurrency: int = 1) -> None:
        fh = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                *queue.worker_argv(queues="asr,nlp", concurrency=concurrency),
                "--without-gossip",
                "--without-mingle",
            ],
            cwd=ROOT,
            env=os.environ.copy(),
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill -9 takes the children too
        )

    def kill9(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()
            self.proc = None


@pytest.fixture
def worker(tmp_path: Path, broker: dict[str, str], fast_models: Path) -> Iterator[Worker]:
    from insights.asr.model import resolve_model

    resolve_model()  # the bundled Whisper is assembled in the shared cache before a worker needs it
    w = Worker(tmp_path / "worker.log")
    yield w
    w.stop()


def _jobs(url: str) -> list[Job]:
    with session_scope(url) as s:
        jobs = list(s.scalars(select(Job).order_by(Job.id)))
        for j in jobs:
            s.expunge(j)
        return jobs


def _wait(url: str, until, timeout: float, log: Path) -> list[Job]:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        jobs = _jobs(url)
        if until(jobs):
            return jobs
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
    pytest.fail(f"timed out; jobs {[(j.id, j.state, j.stage, j.error) for j in _jobs(url)]}\n{tail}")


def _call(folder: Path, name: str, source: Path, call_id: str) -> Path:
    path = folder / name
    path.write_bytes(source.read_bytes())
    path.with_suffix(".json").write_text(
        json.dumps(
            {
                "call_id": call_id,
                "date": "2026-03-14",
                "hcp": HCP,
                "channels": {"left": "caller", "right": "hcp"},
            },
            ensure_ascii=False,
        ),
        encoding="utf-8",
    )
    return path


def _assert_tags_written_once(url: str) -> None:
    """No duplicate tag, and none retracted and added again: each was written exactly once."""
    with session_scope(url) as s:
        tags = s.scalar(select(func.count()).select_from(Tag))
        added = s.scalar(select(func.count()).select_from(TagEvent).where(TagEvent.action == "added"))
        retracted = s.scalar(select(func.count()).select_from(TagEvent).where(TagEvent.action == "retracted"))
    assert tags and tags == added and retracted == 0


def _all_final(jobs: list[Job]) -> bool:
    return bool(jobs) and all(j.state in ("done", "failed") for j in jobs)


def test_bad_files_fail_with_their_code_and_the_batch_goes_on(
    worker: Worker, broker: dict[str, str], synth_calls: dict, tmp_path: Path
) -> None:
    url = broker["INSIGHTS_DATABASE_URL"]
    folder = tmp_path / "batch"
    folder.mkdir()
    good = _call(folder, "a-good.ogg", synth_calls["stereo"], "good")
    corrupt = folder / "b-corrupt.mp3"
    corrupt.write_bytes(b"ID3\x04" + os.urandom(4000))
    corrupt.with_suffix(".json").write_text(json.dumps({"call_id": "corrupt", "hcp": HCP}), encoding="utf-8")
    empty = folder / "c-empty.wav"
    empty.write_bytes(b"")
    empty.with_suffix(".json").write_text(json.dumps({"call_id": "empty", "hcp": HCP}), encoding="utf-8")
    (folder / "d-nosidecar.ogg").write_bytes(good.read_bytes())
    rows = list(service.ingest_calls(service.call_files(folder), url=url))
    assert [r["state"] for r in rows] == ["queued", "queued", "failed", "failed"]
    worker.start()
    jobs = _wait(url, _all_final, 240, worker.log)
    by_file = {Path(j.subject).name: j for j in jobs}
    assert by_file["a-good.ogg"].state == "done"
    assert by_file["b-corrupt.mp3"].state == "failed" and by_file["b-corrupt.mp3"].code in ("E401", "E404")
    assert by_file["c-empty.wav"].code == "E402"
    assert by_file["d-nosidecar.ogg"].code == "E501"
    # Bad input is not retried, and moving on through the stages is not a new attempt.
    assert by_file["b-corrupt.mp3"].attempts == 1
    assert by_file["a-good.ogg"].attempts == 1
    with session_scope(url) as s:
        assert s.scalar(select(func.count()).select_from(Segment)) > 0


def test_kill_9_mid_transcription_completes_exactly_once(
    worker: Worker, broker: dict[str, str], synth_calls: dict, tmp_path: Path
) -> None:
    url = broker["INSIGHTS_DATABASE_URL"]
    folder = tmp_path / "batch"
    folder.mkdir()
    _call(folder, "call.ogg", synth_calls["stereo"], "k1")
    [row] = service.ingest_calls(service.call_files(folder), url=url)
    assert row["state"] == "queued"
    worker.start()
    _wait(url, lambda js: js[0].state == "running" and js[0].stage == "transcribe", 120, worker.log)
    time.sleep(1.0)  # well inside the transcription
    worker.kill9()
    [job] = _jobs(url)
    assert job.state == "running"  # the job is cut off, not lost
    worker.start()
    [job] = _wait(url, _all_final, 240, worker.log)
    assert job.state == "done", job.error
    assert job.attempts >= 2
    _assert_tags_written_once(url)


def test_redis_restart_loses_no_job(
    worker: Worker, broker: dict[str, str], redis_server: RedisServer, synth_calls: dict, tmp_path: Path
) -> None:
    from insights.ingest.jobs import requeue_unfinished

    url = broker["INSIGHTS_DATABASE_URL"]
    folder = tmp_path / "batch"
    folder.mkdir()
    for k in range(3):
        _call(folder, f"call{k}.ogg", synth_calls["stereo"], f"r{k}")
    rows = list(service.ingest_calls(service.call_files(folder), url=url))
    assert [r["state"] for r in rows] == ["queued"] * 3
    worker.start()
    _wait(url, lambda js: any(j.state == "running" for j in js), 120, worker.log)
    # The broker goes away with its queue (no persistence), then comes back empty.
    redis_server.stop()
    redis_server.start()
    time.sleep(2.0)
    # The jobs are still recorded in the database; sending the unfinished ones again recovers them.
    requeue_unfinished(idle_s=0, url=url)
    jobs = _wait(url, _all_final, 300, worker.log)
    assert [j.state for j in jobs] == ["done"] * 3, [(j.error) for j in jobs]
    _assert_tags_written_once(url)
