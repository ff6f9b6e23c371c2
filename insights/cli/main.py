"""``insights``: analyse doctors' words into entities, concepts, stance, needs and safety signals."""

from __future__ import annotations

from insights.cli import asr_cmd, commands, eval_cmd, ingest_cmd  # noqa: F401  (they register their commands)
from insights.cli.app import app


def main() -> None:
    app()


if __name__ == "__main__":
    main()
