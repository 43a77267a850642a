"""Write docs/cli.md from the commands' own --help (``make docs``).

tests/test_docs.py fails when the file is stale, so the reference never drifts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pgferry.cli import cli

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _walk(cmd: click.Command, path: list[str]) -> list[tuple[list[str], click.Command]]:
    found = [(path, cmd)]
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            found += _walk(cmd.commands[name], [*path, name])
    return found


def render() -> str:
    parts = [
        "# Command reference",
        "",
        "Generated from `--help` by `scripts/cli_reference.py` (`make docs`); do not edit by hand.",
        "",
    ]
    for path, cmd in _walk(cli, ["pgferry"]):
        with click.Context(cmd, info_name=" ".join(path), terminal_width=100) as ctx:
            text = cmd.get_help(ctx)
        parts += [f"## `{' '.join(path)}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(parts)


def main() -> None:
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")


if __name__ == "__main__":
    main()
