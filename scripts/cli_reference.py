"""Write docs/cli.md from the commands' own --help (``make docs``).

tests/test_docs.py fails when the file is stale, so the reference never drifts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from pgferry.cli import cli

OUT = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def _walk(ctx: click.Context) -> list[click.Context]:
    """Every command's context, nested as at run time so settings such as -h carry over."""
    found = [ctx]
    cmd = ctx.command
    if isinstance(cmd, click.Group):
        for name in sorted(cmd.commands):
            found += _walk(click.Context(cmd.commands[name], info_name=name, parent=ctx))
    return found


def render() -> str:
    parts = [
        "# Command reference",
        "",
        "Generated from `--help` by `scripts/cli_reference.py` (`make docs`); do not edit by hand.",
        "",
    ]
    settings = {**cli.context_settings, "terminal_width": 100}
    root = click.Context(cli, info_name="pgferry", **settings)
    for ctx in _walk(root):
        text = ctx.command.get_help(ctx)
        parts += [f"## `{ctx.command_path}`", "", "```text", text.rstrip(), "```", ""]
    return "\n".join(parts)


def main() -> None:
    OUT.write_text(render(), encoding="utf-8")
    sys.stdout.write(f"wrote {OUT}\n")


if __name__ == "__main__":
    main()
