"""``insights eval [asr]`` and ``insights bench analyze|asr``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from insights.cli.app import _fail, app, bench_app, out
from insights.errors import InsightsError

ROWS = [
    ("entity F1", "entity_f1"),
    ("stance macro-F1", "stance_macro_f1"),
    ("stance accuracy", "stance_acc"),
    ("target accuracy", "target_acc"),
    ("unmet-need F1", "unmet_need_f1"),
    ("unmet-need category acc", "unmet_need_category_acc"),
    ("adverse-event F1", "adverse_event_f1"),
    ("topics micro-F1", "topics_micro_f1"),
]


eval_app = typer.Typer(
    help="Quality figures: the analysis on the held-out split (no subcommand), or `eval asr DIR`.",
    invoke_without_command=True,
)
app.add_typer(eval_app, name="eval")


@eval_app.callback()
def eval_command(
    ctx: typer.Context,
    split: Annotated[str, typer.Option(help="Corpus split to score: test or dev.")] = "test",
    backend: Annotated[list[str] | None, typer.Option(help="Backends to score (repeatable).")] = None,
    datasets: Annotated[Path | None, typer.Option(help="shared/datasets folder for transfer checks.")] = None,
    limit: Annotated[int | None, typer.Option(help="At most this many items per transfer dataset.")] = 2000,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
    pred_dir: Annotated[
        Path | None,
        typer.Option(help="Write predictions and gold here (for the reference scorer)."),
    ] = None,
) -> None:
    """Score the analysis on the held-out corpus split, per backend, and on public datasets.

    Transfer checks run when --datasets points at shared/datasets (default: ../shared/datasets
    if it exists): CMeEE dev drug+disease span F1, C-STANCE and NLPCC-2016 stance macro-F1.
    """
    if ctx.invoked_subcommand is not None:
        return
    from insights.eval.analysis import eval_split, transfer, write_gold

    backends = backend or ["fast"]
    results: dict[str, dict] = {}
    try:
        for b in backends:
            pred_out = pred_dir / f"pred-{split}-{b}.jsonl" if pred_dir else None
            results[b] = eval_split(split, b, pred_out=pred_out)
        if pred_dir:
            write_gold(split, pred_dir / f"gold-{split}.jsonl")
        ds = datasets or Path("../shared/datasets")
        extra = {b: transfer(ds, b, limit) for b in backends} if ds.exists() else {}
    except InsightsError as exc:
        raise _fail(exc) from exc
    if as_json:
        out.print_json(json.dumps({"split": results, "transfer": extra}, ensure_ascii=False))
        return
    table = Table(title=f"own corpus, {split} split ({results[backends[0]]['items']} items)")
    table.add_column("metric")
    for b in backends:
        table.add_column(b, justify="right")
    for name, key in ROWS:
        table.add_row(name, *[f"{results[b][key]:.3f}" for b in backends])
    labels = sorted({k for b in backends for k in results[b]["entity_f1_by_label"]})
    for lab in labels:
        table.add_row(
            f"  entity F1 {lab}",
            *[f"{results[b]['entity_f1_by_label'].get(lab, 0):.3f}" for b in backends],
        )
    for style in sorted(results[backends[0]]["by_style"]):
        for key in ("entity_f1", "stance_macro_f1"):
            table.add_row(
                f"  {key} ({style} style)",
                *[f"{results[b]['by_style'].get(style, {}).get(key, 0):.3f}" for b in backends],
            )
    out.print(table)
    for b, checks in extra.items():
        t = Table(title=f"transfer checks ({b})")
        t.add_column("dataset")
        t.add_column("result")
        for name, res in checks.items():
            t.add_row(name, json.dumps(res, ensure_ascii=False))
        out.print(t)


@bench_app.command("analyze")
def bench_analyze(
    backend: Annotated[list[str] | None, typer.Option(help="Backends to time (repeatable).")] = None,
    sentences: Annotated[int, typer.Option(min=50, help="Sentences per run.")] = 2000,
    batch_size: Annotated[int, typer.Option(min=1)] = 64,
) -> None:
    """Sentences/s per backend against jieba tokenisation alone in the same run, and peak RSS.

    Each backend runs in a fresh subprocess so that its peak RSS is its own.
    """
    from insights.bench.analyze import run_all

    for line in run_all(backend or ["fast"], n=sentences, batch_size=batch_size):
        out.print(line)
