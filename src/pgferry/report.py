"""Run reports a team can attach to its migration ticket: Markdown and JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path

from .endpoints import mask
from .errors import ConfigError
from .migrate import MigrateReport

DEFAULT_DIR = Path("pgferry-runs")


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def checklist(report: MigrateReport) -> list[tuple[bool, str]]:
    """The post-migration checklist: (done, line) for each item a ticket asks about."""
    n = len(report.plan.tables)
    matched = sum(1 for c in report.counts if c.ok)
    seq = report.sequences
    failed_inserts = [i for i in report.inserts if not i.ok]
    items = [
        (len(report.results) == n, f"tables copied: {len(report.results)} of {n}"),
        (matched == n, f"row counts match production's snapshot: {matched} of {n}"),
        (
            seq is None or seq.healthy,
            "sequences: not checked"
            if seq is None
            else f"sequences fixed: {len(seq.fixed)}, still behind: {len(seq.behind)}",
        ),
        _keys_item(report),
    ]
    if report.not_valid_in_production:  # production's state, copied: not a failure
        items.append(
            (
                True,
                f"foreign keys NOT VALID in production too (kept so): "
                f"{len(report.not_valid_in_production)}",
            )
        )
    items += [
        (
            not failed_inserts,
            f"verify: a new row works in {len(report.inserts) - len(failed_inserts)} of "
            f"{len(report.inserts)} tables"
            if report.inserts
            else "verify: insert check skipped (--no-verify)",
        ),
    ]
    if report.plan.refresh:
        failed = len(report.not_refreshed)
        items.append(
            (
                not failed,
                f"materialized views refreshed: {len(report.refreshed)}, left unpopulated as "
                f"in production: {len(report.unpopulated)}, failed: {failed}",
            )
        )
    lobs = report.large_objects
    if lobs is not None and lobs.copied:
        qa = "?" if lobs.qa is None else str(lobs.qa)
        items.append(
            (lobs.ok, f"large objects in QA: {qa} of {lobs.production} ({_size(lobs.bytes)})")
        )
    elif lobs is not None:
        items.append(
            (
                not lobs.production,
                f"large objects left behind: {lobs.production} (--no-large-objects)",
            )
        )
    if report.backup is not None:
        items.append((True, f"backup: {report.backup.name} ({report.backup.method})"))
        items.append((True, f"roll back with: {report.rollback_command}"))
    else:
        items.append((False, "backup: none taken (--no-backup)"))
    warnings = report.plan.warnings
    items.append(
        (
            not warnings,
            f"differences found and left alone: {len(warnings)}"
            + (" (listed below)" if warnings else ""),
        )
    )
    return items


def _keys_item(report: MigrateReport) -> tuple[bool, str]:
    """Foreign keys: validated, for a finished run; for a stopped one, what was put back
    and what is left, never ticked."""
    left = len(report.not_validated)
    if report.error is None:
        return (not left, f"foreign keys validated ({left} left NOT VALID)")
    text = f"stopped: put back {report.put_back} set-aside objects, {left} foreign keys NOT VALID"
    if report.mid_refresh:
        text += f"; {report.mid_refresh}"
    return (False, text)


def _verdict(report: MigrateReport) -> str:
    if report.error is not None:
        return "STOPPED"
    return "OK" if report.ok else "PROBLEMS FOUND"


def markdown(report: MigrateReport) -> str:
    counts = {c.table: c for c in report.counts}
    lines = [
        f"# pgferry migrate {report.run_id}",
        "",
        f"- from: `{report.source}`",
        f"- to: `{report.target}`",
        f"- result: **{_verdict(report)}** in {report.seconds:.1f} s",
        f"- load mode: {report.mode or 'n/a'}",
    ]
    if report.error is not None:
        lines.append(f"- stopped: {report.error}")
    if report.mid_refresh:
        lines.append(f"- **{report.mid_refresh}**")
    if report.backup is not None:
        b = report.backup
        lines += [
            f"- backup: `{b.name}` ({b.method}, {_size(b.size)}) at `{b.location}`",
            f"- roll back with: `{report.rollback_command}`",
        ]
    if not report.dry_run:
        lines += ["", "## Checklist", ""]
        lines += [f"- [{'x' if done else ' '}] {text}" for done, text in checklist(report)]
    if report.restored_before:
        lines.append(
            f"- put back {report.restored_before} objects left aside by an interrupted run"
        )
    lines += [
        "",
        "## Tables",
        "",
        "| table | rows | bytes | seconds | production rows | QA rows | match |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in sorted(report.results, key=lambda r: r.table.target):
        c = counts.get(r.table.target)
        lines.append(
            f"| `{r.table.target}` | {r.rows} | {_size(r.bytes)} | {r.seconds:.2f} | "
            f"{c.source_rows if c else ''} | {c.target_rows if c else ''} | "
            f"{'yes' if c and c.ok else 'NO'} |"
        )
    masked = [(tp.target, tp.masked) for tp in report.plan.tables if tp.masked]
    if masked:  # each column and its rule's kind: never a value
        lines += ["", "## Masked columns", ""]
        lines += [
            f"- `{table}`: " + ", ".join(f"`{c}` ({kind})" for c, kind in columns)
            for table, columns in masked
        ]
    if report.sequences is not None:
        lines += [
            "",
            f"Sequences fixed: {len(report.sequences.fixed)}; still behind: "
            f"{len(report.sequences.behind)}.",
        ]
    if report.plan.cautions:
        lines += ["", "Confirmed at the prompt although QA looked like production:", ""]
        lines += [f"- {c}" for c in report.plan.cautions]
    if report.plan.skipped:
        lines += ["", "Left out:", ""]
        lines += [f"- `{n}`: {why}" for n, why in report.plan.skipped]
    if report.plan.warnings:
        lines += ["", "Differences found and left alone:", ""]
        lines += [f"- {p.message}" for p in report.plan.warnings]
    if report.notices:
        lines += ["", "Notes:", ""]
        lines += [f"- {n}" for n in report.notices]
    if report.not_refreshed:
        lines += ["", "Materialized views that could NOT be refreshed (an error of the run):", ""]
        lines += [f"- `{n}`: {why}" for n, why in report.not_refreshed]
    if report.unpopulated:
        lines += ["", "Materialized views left WITH NO DATA, as in production:", ""]
        lines += [f"- `{n}`" for n in report.unpopulated]
    if report.not_validated:
        lines += ["", "Foreign keys left NOT VALID (their data do not satisfy them):", ""]
        lines += [f"- `{n}`: {why}" for n, why in report.not_validated]
    if report.journal_skipped:
        lines += [
            "",
            "Journal entries skipped (their table, column or referenced table is gone):",
            "",
        ]
        lines += [f"- {what}: {why}" for what, why in report.journal_skipped]
    if report.not_valid_in_production:
        lines += [
            "",
            "Foreign keys NOT VALID in production too (kept so; information, not a failure):",
            "",
        ]
        lines += [
            f"- `{f.table}.{f.name}` ({f.orphans} orphan rows): {f.explain()}."
            for f in report.not_valid_in_production
        ]
    return mask("\n".join(lines) + "\n")


def check_folder(folder: Path | None = None) -> Path:
    """Make sure the report can be written to *folder* (made if missing), before the run
    writes anything to QA: a refresh that succeeds and then cannot say so is worse than
    one that never starts.  Raises :class:`~pgferry.errors.ConfigError` naming it."""
    folder = folder or DEFAULT_DIR
    probe = folder / f".pgferry-probe-{os.getpid()}"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigError(
            f"the report folder {str(folder)!r} cannot be written: {exc.strerror or exc}",
            hint="pass --report-dir a folder this user can write to, or --no-report",
        ) from exc
    return folder


def write(report: MigrateReport, folder: Path | None = None) -> tuple[Path, Path]:
    """Write ``migrate-<run_id>.md``, ``.json`` and ``.log`` under *folder*; return the
    first two."""
    folder = folder or DEFAULT_DIR
    folder.mkdir(parents=True, exist_ok=True)
    md = folder / f"migrate-{report.run_id}.md"
    js = folder / f"migrate-{report.run_id}.json"
    md.write_text(markdown(report), encoding="utf-8")
    data = report.to_dict()
    data["checklist"] = [{"done": done, "item": text} for done, text in checklist(report)]
    js.write_text(mask(json.dumps(data, indent=2, default=str)) + "\n", encoding="utf-8")
    log = folder / f"migrate-{report.run_id}.log"
    log.write_text(mask("\n".join(report.log)) + "\n", encoding="utf-8")
    return md, js
