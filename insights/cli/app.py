"""The Typer apps, consoles and shared helpers of the ``insights`` command."""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from insights.config import get_settings

app = typer.Typer(
    name="insights",
    help=(
        "Turn what doctors say and write into structured insight.\n\n"
        "Examples:\n\n"
        '  insights analyze "脑转移的病人我还是首选奥希替尼"\n\n'
        "  insights analyze --jsonl < in.jsonl > out.jsonl\n\n"
        "  insights models build      # train the fast backend from annotations/\n\n"
        "  insights eval              # scores on the held-out test split\n\n"
        "  insights transcribe call.m4a\n\n"
        "  insights ingest calls uploads/   # transcribe, analyse, write back to profiles\n\n"
        "  insights profile show hcp-001 [--json]\n\n"
        "Settings come from INSIGHTS_* environment variables (see README)."
    ),
    no_args_is_help=True,
    rich_markup_mode=None,
)
models_app = typer.Typer(help="Build, check and locate trained models.", no_args_is_help=True)
corpus_app = typer.Typer(help="Build, validate and round-trip the annotated corpus.", no_args_is_help=True)
ontology_app = typer.Typer(help="Inspect and validate the concept ontology.", no_args_is_help=True)
bench_app = typer.Typer(help="Speed and memory benchmarks.", no_args_is_help=True)
app.add_typer(models_app, name="models")
app.add_typer(corpus_app, name="corpus")
app.add_typer(ontology_app, name="ontology")
app.add_typer(bench_app, name="bench")

out = Console()
err = Console(stderr=True)


def _fail(exc: Exception) -> typer.Exit:
    err.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code=2)


@app.callback()
def _root(
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Log progress to stderr.")] = False,
) -> None:
    level = logging.INFO if verbose else getattr(logging, get_settings().log_level.upper(), logging.WARNING)
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def use_model(path: Path | None) -> None:
    """Point the process-wide settings at a base encoder (same as INSIGHTS_MODEL_PATH)."""
    if path is not None:
        if not (path / "config.json").exists():
            raise typer.BadParameter(f"{path} is not a Hugging Face model directory (no config.json)")
        get_settings().model_path = path
