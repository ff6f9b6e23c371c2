"""``insights bench pipeline DIR --workers 1,2``: the whole chain per call, 1 vs N worker processes.

For each worker count, a fresh SQLite store and a pool of that many processes, each taking job
ids and running transcribe → analyse → write back (models load once per process, as in a Celery
worker; the CPU threads are shared out between processes). The baseline is plain faster-whisper
transcription of the same files (language zh, beam 5, VAD on) in one process. Wall times include
model loading in every system, so the ratios compare what a user waits for.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from insights.errors import ErrorCode, IngestError


@dataclass(slots=True)
class PipelineRun:
    name: str
    seconds: float
    audio_seconds: float
    calls: int
    failed: int

    @property
    def calls_per_hour(self) -> float:
        return 3600.0 * self.calls / max(1e-9, self.seconds)

    @property
    def rtf(self) -> float:
        return self.seconds / max(1e-9, self.audio_seconds)


def _init_worker(env: dict[str, str]) -> None:
    os.environ.update(env)
    from insights.config import get_settings

    get_settings.cache_clear()


def _run(job_id: int, url: str) -> tuple[str, float]:
    from insights.ingest.runner import run_job
    from insights.ingest.steps import load_source

    result = run_job(job_id, url=url)
    src = load_source(_source_of(job_id, url), url)
    return result.state, float(src.duration or 0.0)


def _source_of(job_id: int, url: str) -> int:
    from insights.store.models import Job
    from insights.store.session import session_scope

    with session_scope(url) as s:
        job = s.get(Job, job_id)
        if job is None or job.source_id is None:
            raise IngestError(ErrorCode.SOURCE_UNKNOWN, f"job {job_id}")
        return job.source_id


def chain(files: list[Path], *, workers: int) -> PipelineRun:
    """Register the files in a fresh store, then run their jobs on ``workers`` processes."""
    from insights.ingest.calls import register_call

    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory(prefix="insights-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        t0 = time.perf_counter()
        jobs = [r.job_id for r in (register_call(f, url=url) for f in files) if r.job_id is not None]
        env = {"INSIGHTS_ASR_THREADS": str(max(1, cores // workers))}
        ctx = mp.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(env,)
        ) as pool:
            results = list(pool.map(_run, jobs, [url] * len(jobs)))
        seconds = time.perf_counter() - t0
    return PipelineRun(
        f"chain, {workers} worker{'s' if workers > 1 else ''}",
        seconds,
        sum(d for _, d in results),
        len(files),
        sum(state != "done" for state, _ in results),
    )


def plain(files: list[Path]) -> PipelineRun:
    """Plain faster-whisper transcription of the same files, one process (this one)."""
    from insights.eval.asr import plain_whisper

    t0 = time.perf_counter()
    run = plain_whisper(None)
    audio = 0.0
    for f in files:
        audio += float(run(f)["duration"])
    return PipelineRun("faster-whisper only", time.perf_counter() - t0, audio, len(files), 0)


def run_bench(folder: Path, *, workers: list[int], limit: int | None = None) -> list[PipelineRun]:
    from insights.ingest.calls import audio_files

    files = audio_files(folder)[:limit] if limit else audio_files(folder)
    if not files:
        raise IngestError(ErrorCode.FILE_UNREADABLE, f"{folder}: no audio files")
    runs = [plain(files)]
    for n in workers:
        runs.append(chain(files, workers=n))
    return runs


def summary(runs: list[PipelineRun]) -> list[dict[str, Any]]:
    base = runs[0].seconds
    one = next((r.seconds for r in runs if r.name == "chain, 1 worker"), None)
    out = []
    for r in runs:
        row: dict[str, Any] = {
            "system": r.name,
            "calls": r.calls,
            "failed": r.failed,
            "seconds": round(r.seconds, 1),
            "calls_per_hour": round(r.calls_per_hour, 1),
            "rtf": round(r.rtf, 3),
            "vs_faster_whisper": round(r.seconds / base, 3),
        }
        if one is not None and r.name.startswith("chain"):
            row["speedup_vs_1_worker"] = round(one / r.seconds, 3)
        out.append(row)
    return out
