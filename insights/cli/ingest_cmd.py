"""``insights ingest | hcps | profile | jobs``: sources in, profiles out."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from insights.cli.app import _fail, app, bench_app, err, out
from insights.cli.eval_cmd import eval_app
from insights.errors import InsightsError

ingest_app = typer.Typer(
    help="Bring sources in: call recordings with their sidecar metadata.",
    no_args_is_help=True,
)
hcps_app = typer.Typer(help="HCP master data (doctors).", no_args_is_help=True)
profile_app = typer.Typer(help="HCP360 profiles built from the doctors' own words.", no_args_is_help=True)
app.add_typer(ingest_app, name="ingest")
app.add_typer(hcps_app, name="hcps")
app.add_typer(profile_app, name="profile")


@ingest_app.command("calls")
def ingest_calls(
    folder: Annotated[
        Path, typer.Argument(help="Folder of recordings, each with its AUDIO_STEM.json sidecar.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON line per file instead of a table.")
    ] = False,
) -> None:
    """Transcribe, analyse and write back every call in FOLDER (idempotent per call_id).

    Each recording needs a sidecar AUDIO_STEM.json (spec §5) naming the call and the doctor:
    {"call_id": "c01", "date": "2026-03-14", "hcp": {"id": "hcp-001", "name": "…", …}}.
    A call already ingested with the same audio is left as it is; a file that cannot be
    processed gets a failed job with its error code, and the others go on.

    With INSIGHTS_BROKER_URL set the calls are queued for `insights worker`; otherwise they run
    here, in this process.

    Examples:

      insights ingest calls uploads/2026-03/

      insights jobs --state failed
    """
    from insights.ingest import service

    try:
        files = service.call_files(folder)
    except InsightsError as exc:
        raise _fail(exc) from exc
    if not files:
        raise _fail(ValueError(f"{folder}: no audio files (wav, mp3, m4a, ogg, flac, amr…)"))
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
        disable=as_json,
    )
    results: list[dict[str, Any]] = []
    with progress:
        overall = progress.add_task(f"{len(files)} calls", total=len(files))

        def on_file(path: Path) -> Any:
            task = progress.add_task(path.name, total=1.0)

            def update(stage: str, share: float) -> None:
                progress.update(task, completed=share, description=f"{path.name} · {stage}")

            return update

        for row in service.ingest_calls(files, on_file=on_file):
            results.append(row)
            progress.advance(overall)
            if as_json:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
                sys.stdout.flush()
    if not as_json:
        _print_results(results)
    if results and all(r["state"] == "failed" for r in results):
        raise typer.Exit(code=1)


def _print_results(rows: list[dict[str, Any]]) -> None:
    table = Table(title="ingest")
    for col in ("file", "call", "outcome", "state", "detail"):
        table.add_column(col)
    for r in rows:
        detail = r.get("error") or (
            ", ".join(f"{k} {v}" for k, v in (r.get("tags") or {}).items()) if r.get("tags") else ""
        )
        state = r["state"]
        colour = {"failed": "red", "done": "green", "queued": "cyan"}.get(state, "white")
        table.add_row(
            Path(r["file"]).name, r.get("call_id") or "", r["outcome"], f"[{colour}]{state}[/]", detail
        )
    out.print(table)


@hcps_app.command("import")
def hcps_import(
    file: Annotated[Path, typer.Argument(help="CSV (header row) or JSON Lines with spec §5 hcp fields.")],
) -> None:
    """Upsert doctors by id from a CRM export: id, name, title, department, hospital, city, market_tier.

    Fields left empty keep their stored value; other columns are kept as extra attributes.
    Invalid rows are listed and skipped.

    Example:

      insights hcps import crm/hcp-2026-03.csv
    """
    from insights.ingest import service

    try:
        result = service.import_hcps(file)
    except InsightsError as exc:
        raise _fail(exc) from exc
    for e in result.errors or ():
        err.print(f"[yellow]skipped[/yellow] {e}")
    out.print(
        f"{result.created} doctors added, {result.updated} updated, {len(result.errors or [])} rows skipped"
    )
    if (result.errors or []) and not (result.created or result.updated):
        raise typer.Exit(code=1)


@hcps_app.command("list")
def hcps_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Doctors in the store, with how many sources each has."""
    from insights.ingest import service

    rows = service.list_doctors()
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"{len(rows)} doctors")
    for col in ("id", "name", "title", "department", "hospital", "tier", "sources"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            r["id"],
            r.get("name", ""),
            r.get("title", ""),
            r.get("department", ""),
            r.get("hospital", ""),
            r.get("market_tier", ""),
            str(r["sources"]),
        )
    out.print(table)


@profile_app.command("show")
def profile_show(
    hcp_id: Annotated[str, typer.Argument(help="Doctor id, as in the call metadata (hcp.id).")],
    as_json: Annotated[bool, typer.Option("--json", help="The spec §5 profile JSON.")] = False,
) -> None:
    """A doctor's profile: stance per treatment concept with evidence and history, needs, topics, AEs.

    Examples:

      insights profile show hcp-001

      insights profile show hcp-001 --json > hcp-001.json
    """
    from insights.ingest import service

    try:
        profile = service.profile(hcp_id)
    except InsightsError as exc:
        raise _fail(exc) from exc
    if as_json:
        sys.stdout.write(json.dumps(profile, ensure_ascii=False, indent=2) + "\n")
        return
    _print_profile(profile)


def _print_profile(p: dict[str, Any]) -> None:
    h = p["hcp"]
    out.rule(f"{h.get('name', h['id'])} · {h['id']}")
    out.print(
        " · ".join(str(h[k]) for k in ("title", "department", "hospital", "city", "market_tier") if h.get(k))
    )
    out.print(f"[dim]{p['sources']} sources · models {', '.join(p['model_versions']) or '-'}[/dim]")
    colour = {"support": "green", "oppose": "red", "neutral": "yellow"}
    if not p["stances"]:
        out.print("治疗观念偏好: no stance on a treatment concept in the doctor's own words yet")
    table = Table(title="治疗观念偏好 stance by concept")
    for col in ("concept", "stance", "conf.", "latest evidence", "history"):
        table.add_column(col, overflow="fold")
    for s in p["stances"]:
        ev = s["evidence"][-1]
        where = f"{ev['source_id']} {ev.get('date') or ''}"
        if "start" in ev:
            where += f" @{ev['start']:.1f}s"
        history = " → ".join(f"{x['stance']} ({x['source_id']})" for x in s["history"])
        table.add_row(
            f"{s['name']}\n[dim]{s['concept']}[/dim]",
            f"[{colour.get(s['stance'], 'white')}]{s['stance']}[/]",
            f"{s['confidence']:.2f}",
            f"{ev['text']}\n[dim]{where}[/dim]",
            history,
        )
    if p["stances"]:
        out.print(table)
    if p["unmet_needs"]:
        out.print("[bold]未满足需求 unmet needs[/bold]")
        for u in p["unmet_needs"]:
            last = u["evidence"][-1]
            out.print(f"  {u['category']}: {last['text']} [dim]({last['source_id']})[/dim]")
    if p["topics"]:
        out.print(
            "[bold]关注话题 topics[/bold]  " + ", ".join(f"{t['topic']} {t['count']}" for t in p["topics"])
        )
    if p["adverse_events"]:
        out.print("[bold red]adverse-event reports[/bold red]")
        for a in p["adverse_events"]:
            out.print(f"  {a['source_id']}: {a['text']} [dim]{a.get('drug') or ''}[/dim]")


@app.command("jobs")
def jobs_command(
    state: Annotated[
        str | None, typer.Option(help="Only jobs in this state: queued, running, done, failed.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest first, at most this many.")] = 50,
    requeue: Annotated[
        bool,
        typer.Option(
            help="Send unfinished jobs idle for --idle seconds to the broker again (after a broker "
            "restart lost its queue). Safe: steps skip what is already stored."
        ),
    ] = False,
    idle: Annotated[float, typer.Option(min=0, help="With --requeue: seconds without progress.")] = 600.0,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Ingestion jobs: state, stage, progress, attempts and the error of each failed one."""
    from insights.config import get_settings
    from insights.ingest.jobs import job_counts, list_jobs, requeue_unfinished

    if requeue:
        if not get_settings().broker_url:
            raise _fail(ValueError("--requeue needs INSIGHTS_BROKER_URL (in-process ingest has no queue)"))
        sent = requeue_unfinished(idle_s=idle)
        err.print(f"requeued {len(sent)} jobs" + (f": {', '.join(map(str, sent))}" if sent else ""))

    rows = list_jobs(state=state, limit=limit)
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    counts = job_counts()
    table = Table(title="jobs · " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    for col in ("id", "kind", "subject", "state", "stage", "progress", "tries", "error"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(
            str(r["id"]),
            r["kind"],
            Path(r["subject"]).name,
            r["state"],
            r["stage"] or "",
            f"{100 * r['progress']:.0f}%",
            str(r["attempts"]),
            r["error"] or "",
        )
    out.print(table)


@app.command("worker")
def worker_command(
    queues: Annotated[
        str, typer.Option(help="Queues to take tasks from: asr (transcription), nlp.")
    ] = "asr,nlp",
    concurrency: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
    loglevel: Annotated[str, typer.Option(help="Celery log level.")] = "INFO",
) -> None:
    """Run a Celery worker for queued ingestion (needs INSIGHTS_BROKER_URL, e.g. redis://127.0.0.1:6379/0).

    Transcription (queue asr) is long and takes one task at a time per process; analysis and
    write-back (queue nlp) are short. Run separate workers per queue to scale them apart:

      insights worker --queues asr --concurrency 2

      insights worker --queues nlp
    """
    import os

    from insights.config import get_settings

    if not get_settings().broker_url:
        raise _fail(ValueError("set INSIGHTS_BROKER_URL (e.g. redis://127.0.0.1:6379/0) to run a worker"))
    from insights.ingest.queue import worker_argv

    argv = worker_argv(queues=queues, concurrency=concurrency, loglevel=loglevel)
    os.execv(sys.executable, argv)


@eval_app.command("profiles")
def eval_profiles(
    folder: Annotated[Path, typer.Argument(help="Folder laid out as shared/audio: calls/ and truth/.")],
    database_url: Annotated[
        str | None,
        typer.Option(help="Score profiles already in this database instead of ingesting into a fresh one."),
    ] = None,
    out_dir: Annotated[Path | None, typer.Option(help="Write each doctor's profile JSON here.")] = None,
    transcripts: Annotated[
        str,
        typer.Option(
            help="asr: transcribe the audio (the real chain). truth: analyse the truth files' turns "
            "instead (a diagnostic that separates analysis errors from ASR errors)."
        ),
    ] = "asr",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Ingest DIR/calls into a fresh store, then score each doctor's profile against DIR/truth.

    Prints (doctor, concept, stance) agreement, rep-praise leaks, unmet-need recall and AE
    presence per doctor, figure for figure as shared/tools/score_profiles.py, plus each
    doctor's stance history on the concepts whose stance changed across calls.
    """
    import tempfile

    from insights.eval.profiles import load_truth, score_profiles, use_truth_transcript
    from insights.ingest import service
    from insights.ingest.calls import register_call
    from insights.ingest.runner import run_job

    if transcripts not in ("asr", "truth"):
        raise typer.BadParameter("--transcripts is asr or truth")

    try:
        truth = load_truth(folder)
    except InsightsError as exc:
        raise _fail(exc) from exc
    tmp = tempfile.TemporaryDirectory(prefix="insights-eval-")
    url = database_url or f"sqlite:///{Path(tmp.name) / 'eval.db'}"
    failed: list[str] = []
    if database_url is None:
        files = service.call_files(folder / "calls")
        with err.status("") as status:
            for i, path in enumerate(files):
                status.update(f"ingesting {path.name} ({i + 1}/{len(files)})")
                if transcripts == "truth":
                    turns = {c["call_id"]: c["turns"] for c in truth}
                    reg = register_call(path, url=url)
                    if reg.job_id is None or reg.source_id is None or reg.external_id not in turns:
                        failed.append(f"{path.name}: {reg.error or 'no truth turns'}")
                        continue
                    use_truth_transcript(reg.source_id, turns[reg.external_id], url=url)
                    res = run_job(reg.job_id, url=url)
                    if res.state == "failed":
                        failed.append(f"{path.name}: {res.error}")
                    continue
                for row in service.ingest_calls([path], url=url, enqueue=False):
                    if row["state"] == "failed":
                        failed.append(f"{path.name}: {row['error']}")
    hcp_ids = sorted({str(c["hcp"]["id"]) for c in truth})
    profiles: dict[str, dict[str, Any]] = {}
    for hid in hcp_ids:
        try:
            profiles[hid] = service.profile(hid, url=url)
        except InsightsError:
            profiles[hid] = {}
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        for hid, p in profiles.items():
            (out_dir / f"{hid}.json").write_text(json.dumps(p, ensure_ascii=False, indent=2), "utf-8")
    scores = score_profiles(truth, profiles)
    changes = _stance_changes(truth, profiles)
    tmp.cleanup()
    if as_json:
        out.print_json(
            json.dumps(
                scores.summary() | {"misses": scores.misses, "failed": failed, "changes": changes},
                ensure_ascii=False,
            )
        )
        return
    table = Table(title=f"profiles ({scores.doctors} doctors, {len(truth)} calls)")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in scores.summary().items():
        table.add_row(k, str(v))
    out.print(table)
    for line in changes:
        out.print(f"stance change {line}")
    for m in scores.misses:
        out.print(f"[dim]miss {m}[/dim]")
    for f in failed:
        err.print(f"[red]failed[/red] {f}")


def _stance_changes(truth: list[dict[str, Any]], profiles: dict[str, dict[str, Any]]) -> list[str]:
    """For each concept whose expected stance changed across a doctor's calls: expected vs recorded."""
    from collections import defaultdict

    seq: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for c in sorted(truth, key=lambda c: c["date"]):
        for s in c["profile_expect"]["stances"]:
            if s["stance"] in ("support", "oppose"):
                seq[(str(c["hcp"]["id"]), s["target_concept"])].append((c["call_id"], s["stance"]))
    lines = []
    for (hid, concept), items in sorted(seq.items()):
        if len({st for _, st in items}) < 2:
            continue
        want = " → ".join(f"{st} ({cid})" for cid, st in items)
        got = "absent"
        for s in (profiles.get(hid) or {}).get("stances") or []:
            if s["concept"] == concept:
                got = " → ".join(
                    [f"{h['stance']} ({h['source_id']})" for h in s["history"]] + [f"now {s['stance']}"]
                )
        lines.append(f"{hid} {concept}: expected {want}; profile {got}")
    return lines


@bench_app.command("pipeline")
def bench_pipeline(
    folder: Annotated[
        Path, typer.Argument(help="Folder of calls with sidecars (e.g. ../shared/audio/calls).")
    ],
    workers: Annotated[str, typer.Option(help="Worker process counts to compare, comma-separated.")] = "1,2",
    limit: Annotated[int | None, typer.Option(min=1, help="Only the first N calls.")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Calls/hour and RTF of the whole chain (transcribe → analyse → write back), 1 vs N workers.

    Each worker count gets a fresh SQLite store and a pool of processes (models load once per
    process); the baseline is plain faster-whisper on the same files in one process. Goal: the
    chain with one worker within 1.2x of transcription alone.
    """
    from insights.bench.pipeline import run_bench, summary

    try:
        counts = [int(x) for x in workers.split(",") if x.strip()]
    except ValueError as exc:
        raise typer.BadParameter("--workers is a comma-separated list of integers, e.g. 1,2") from exc
    if not counts or min(counts) < 1:
        raise typer.BadParameter("--workers needs positive counts")
    try:
        with err.status("benchmarking (plain faster-whisper, then the chain per worker count)"):
            rows = summary(run_bench(folder, workers=counts, limit=limit))
    except InsightsError as exc:
        raise _fail(exc) from exc
    if as_json:
        out.print_json(json.dumps(rows))
        return
    cols = list(dict.fromkeys(k for r in rows for k in r))
    table = Table(title=f"pipeline on {rows[0]['calls']} calls")
    for col in cols:
        table.add_column(col.replace("_", " "), justify="right")
    for r in rows:
        table.add_row(*[str(r.get(c, "")) for c in cols])
    out.print(table)
    for r in rows:
        if "speedup_vs_1_worker" in r and r["system"] != "chain, 1 worker":
            out.print(f"{r['system']}: {r['speedup_vs_1_worker']}x the calls/hour of 1 worker")


@ingest_app.command("consults")
def ingest_consults(
    file: Annotated[Path, typer.Argument(help="JSON Lines, one online consultation per line.")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON line per consultation.")] = False,
) -> None:
    """Analyse online consultations: only the doctor's answer counts; the question is context.

    A line: {"id": "q-001", "date": "2026-03-01", "doctor": {"id": "hcp-001"}, "question": "…",
    "answer": "…"}. The doctor may be given by name and hospital instead of id; one that matches
    no known doctor (or several) fails with E504 instead of being guessed. Idempotent per id.

    Example:

      insights ingest consults exports/haodf-2026-03.jsonl
    """
    from insights.ingest import service

    rows: list[dict[str, Any]] = []
    try:
        for row in service.ingest_consults(file):
            rows.append(row)
            if as_json:
                sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    except InsightsError as exc:
        raise _fail(exc) from exc
    if not as_json:
        table = Table(title=f"{len(rows)} consultations")
        for col in ("line", "consult", "outcome", "state", "detail"):
            table.add_column(col, overflow="fold")
        for r in rows:
            table.add_row(
                r["line"], r.get("consult_id") or "", r["outcome"], r["state"], r.get("error") or ""
            )
        out.print(table)
    if rows and all(r["state"] == "failed" for r in rows):
        raise typer.Exit(code=1)
