"""``insights transcribe``, ``insights eval asr`` and ``insights bench asr``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from insights.cli.app import _fail, app, bench_app, err, out
from insights.cli.eval_cmd import eval_app
from insights.errors import InsightsError


def _expand(paths: list[Path]) -> list[Path]:
    """Files as given; a folder stands for the audio files in it (sorted)."""
    from insights.asr.audio import AUDIO_SUFFIXES

    found: list[Path] = []
    for p in paths:
        if p.is_dir():
            found.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in AUDIO_SUFFIXES))
        else:
            found.append(p)
    return found


def _options(prompt: bool, no_correct: bool, no_diarize: bool, beam: int | None) -> Any:
    from insights.asr.transcribe import TranscribeOptions

    return TranscribeOptions(
        domain_prompt=prompt, correct_terms=not no_correct, diarize=not no_diarize, beam_size=beam
    )


@app.command("transcribe")
def transcribe_command(
    audio: Annotated[
        list[Path], typer.Argument(help="Audio files or folders (wav, mp3, m4a, ogg, flac, amr…).")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per file (spec §4).")] = False,
    model: Annotated[
        str | None, typer.Option(help="CTranslate2 Whisper folder or hub name (default: bundled base).")
    ] = None,
    beam: Annotated[int | None, typer.Option(min=1, max=10, help="Beam size (default 5).")] = None,
    prompt: Annotated[
        bool, typer.Option(help="Domain prompt + hotwords for Whisper (off: it hurt Whisper base here).")
    ] = False,
    no_correct: Annotated[bool, typer.Option(help="No near-miss term correction.")] = False,
    no_diarize: Annotated[bool, typer.Option(help="Mono files: no speaker separation.")] = False,
) -> None:
    """Transcribe call recordings: Simplified Chinese, timed segments, caller vs doctor.

    A sidecar AUDIO_STEM.json beside a file (spec §5) gives the call metadata; its `channels`
    map says which stereo channel is whom. Without it the two voices are separated and named
    from what they say. A file that cannot be transcribed prints {"audio", "error", "code"}
    and the next file goes on.

    Examples:

      insights transcribe call.m4a

      insights transcribe calls/ --json > transcripts.jsonl
    """
    from insights.asr.transcribe import Transcriber, transcribe_many

    files = _expand(audio)
    if not files:
        raise _fail(ValueError("no audio files found"))
    transcriber = Transcriber(options=_options(prompt, no_correct, no_diarize, beam), model=model)
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f} s"),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )

    def on_progress(path: Path) -> Any:
        task = progress.add_task(path.name, total=1.0)

        def update(done: float, total: float) -> None:
            progress.update(task, completed=done, total=total)

        return update

    failed = 0
    with progress:
        for line in transcribe_many(files, transcriber=transcriber, on_progress=on_progress):
            failed += "error" in line
            if as_json:
                sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
                sys.stdout.flush()
            else:
                progress.stop()
                _print_transcript(line)
                progress.start()
    if failed == len(files):
        raise typer.Exit(code=1)


def _print_transcript(line: dict[str, Any]) -> None:
    if "error" in line and not line.get("segments"):
        err.print(f"[red]{line['audio']}[/red]: {line['error']}")
        return
    title = f"{line['audio']}  {line.get('duration', 0):.1f} s  {line.get('model', '')}"
    if line.get("therapy_area"):
        title += f"  [{line['therapy_area']}]"
    table = Table(title=title, show_lines=False)
    table.add_column("time", style="dim", no_wrap=True)
    table.add_column("speaker", no_wrap=True)
    table.add_column("text")
    colours = {"hcp": "green", "caller": "cyan", "unknown": "yellow"}
    for s in line["segments"]:
        m0, s0 = divmod(s["start"], 60)
        colour = colours.get(s["speaker"], "white")
        table.add_row(f"{int(m0):02d}:{s0:04.1f}", f"[{colour}]{s['speaker']}[/{colour}]", s["text"])
    out.print(table)
    if "error" in line:
        err.print(f"[yellow]{line['audio']}[/yellow]: {line['error']}")


@eval_app.command("asr")
def eval_asr(
    folder: Annotated[Path, typer.Argument(help="Folder laid out as shared/audio: calls/ and truth/.")],
    model: Annotated[str | None, typer.Option(help="Speech model (default: bundled base).")] = None,
    ablate: Annotated[
        list[str] | None,
        typer.Option(
            "--variant",
            help="Also run with one step changed: no-correct, no-diarize, prompt, batched (repeatable).",
        ),
    ] = None,
    baseline: Annotated[bool, typer.Option(help="Also run plain faster-whisper in the same process.")] = True,
    only: Annotated[list[str] | None, typer.Option(help="Only these call ids (repeatable).")] = None,
    pred_dir: Annotated[Path | None, typer.Option(help="Write each system's JSON Lines here.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """CER, drug/gene/trial term recall, HCP attribution and caller leak, RTF: ours vs plain.

    CER is corpus-level after normalisation (Simplified, no punctuation or spaces, Latin lowercased,
    Chinese numerals as digits on both sides); figures match shared/tools/score_asr.py.
    """
    from insights.asr.transcribe import TranscribeOptions
    from insights.eval.asr import ABLATIONS, find_calls, run_system, systems

    for step in ablate or []:
        if step not in ABLATIONS:
            raise typer.BadParameter(f"unknown step {step!r}; choose from {', '.join(ABLATIONS)}")
    if not folder.is_dir():
        raise _fail(ValueError(f"{folder} is not a folder"))
    calls = [c for c in find_calls(folder) if not only or c.call_id in only]
    if not calls:
        raise _fail(ValueError(f"no calls with truth files under {folder}"))
    results = []
    try:
        with err.status("") as status:
            for name, system in systems(model, TranscribeOptions(), ablate or [], baseline=baseline):
                res = run_system(name, system, calls, on_call=lambda s: status.update(f"transcribing {s}"))
                results.append(res)
                if pred_dir:
                    pred_dir.mkdir(parents=True, exist_ok=True)
                    path = pred_dir / f"{name.replace(' ', '').replace('-', '_')}.jsonl"
                    path.write_text(
                        "".join(json.dumps(x, ensure_ascii=False) + "\n" for x in res.lines), "utf-8"
                    )
    except InsightsError as exc:
        raise _fail(exc) from exc
    if as_json:
        out.print_json(json.dumps({r.name: r.summary() for r in results}, ensure_ascii=False))
        return
    per_call = Table(title=f"per call CER / terms found ({len(calls)} calls)")
    per_call.add_column("call")
    for r in results:
        per_call.add_column(r.name, justify="right")
    for i, call in enumerate(calls):
        per_call.add_row(
            call.call_id,
            *[f"{r.scores[i].cer:.3f}  {r.scores[i].terms_found}/{r.scores[i].terms_all}" for r in results],
        )
    out.print(per_call)
    summary = Table(title="overall")
    summary.add_column("metric")
    for r in results:
        summary.add_column(r.name, justify="right")
    sums = [r.summary() for r in results]
    for key in ("cer", "term_recall", "hcp_attribution", "caller_leak", "missing_or_error", "rtf", "seconds"):
        summary.add_row(key, *[str(s[key]) for s in sums])
    out.print(summary)


@bench_app.command("asr")
def bench_asr(
    audio: Annotated[Path, typer.Argument(help="One audio file.")],
    model: Annotated[str | None, typer.Option(help="Speech model (default: bundled base).")] = None,
    repeat: Annotated[int, typer.Option(min=1, max=5, help="Alternating runs of each system.")] = 1,
) -> None:
    """Our whole `transcribe` vs plain faster-whisper on the same file and model: wall-time ratio,
    RTF and peak RSS (each system in its own subprocess, so each peak is its own)."""
    from insights.bench.asr import run_bench

    try:
        for line in run_bench(audio, model=model, repeat=repeat):
            out.print(line)
    except InsightsError as exc:
        raise _fail(exc) from exc


voices_app = typer.Typer(
    help="Voice prints of callers, to tell them from doctors on mono calls.", no_args_is_help=True
)
app.add_typer(voices_app, name="voices")


@voices_app.command("enroll")
def voices_enroll(
    caller_id: Annotated[
        str, typer.Argument(help="The rep's or MSL's id, as sidecars give it in caller_id.")
    ],
    audio: Annotated[
        list[Path], typer.Argument(help="Recordings of this caller speaking alone (≥ 3 s of speech).")
    ],
) -> None:
    """Store a voice print: on mono calls whose sidecar has this caller_id, the voice nearer the
    print is labelled caller, the other hcp."""
    from insights.asr.voices import enroll, voices_dir

    try:
        record = enroll(caller_id, audio)
    except (InsightsError, ValueError) as exc:
        raise _fail(exc) from exc
    out.print(
        f"enrolled {caller_id}: {record['seconds']} s of speech from {len(audio)} file(s) → {voices_dir()}"
    )
