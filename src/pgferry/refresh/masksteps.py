"""What a refresh with ``[mask]`` adds to its steps, built from the settings:
the masking shaper (with strict mode when asked) and the sample check.  The key
is read here, before any connection is made, so a missing key stops the run
having written nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from .. import largeobjects
from ..catalog import Catalog
from ..errors import ConfigError
from ..masking import Keyed
from ..plan import Plan
from .maskcheck import SAMPLE_ROWS, sample_check
from .masking import Rules, masking, needs_key
from .pipeline import Check, Shaper
from .strict import strict_check, strict_values


@dataclass(frozen=True)
class MaskSteps:
    """The shapers and checks to hand :class:`pgferry.migrate.Refresh`."""

    shapers: list[Shaper] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


def mask_steps(
    rules: Rules,
    *,
    key_env: str,
    strict: bool = False,
    sample: int = SAMPLE_ROWS,
    environ: Mapping[str, str] | None = None,
    large_objects: bool = True,
) -> MaskSteps:
    """The steps masking *rules* with the key in environment variable *key_env*;
    none when there are no rules and strict mode is off.  *large_objects*: the run
    copies production's large objects (``MigrateOptions``' default), which masking
    does not reach (strict mode refuses the run when production holds any)."""
    if not rules and not strict:
        return MaskSteps()
    key = Keyed.from_env(key_env, environ) if needs_key(rules) else None
    shaper = masking(key, rules, strict=strict_check(rules) if strict else None)
    checks = [sample_check(sample)] if sample else []
    if strict:
        checks.append(strict_values(rules))
    if strict and large_objects:
        checks.append(_no_large_objects)
    return MaskSteps([shaper], checks)


def _no_large_objects(conn: psycopg.Connection[Any], plan: Plan, source: Catalog) -> None:
    held = largeobjects.count(conn)
    if held:
        raise ConfigError(
            f"[mask] strict: production holds {held} large objects, and this run would copy "
            "them as they are (masking reaches columns, not large objects)",
            hint="leave them out with --no-large-objects ([migrate] large_objects = false)",
        )


__all__ = ["MaskSteps", "mask_steps"]
