"""What a refresh with ``[mask]`` adds to its steps, built from the settings:
the masking shaper (with strict mode when asked) and the sample check.  The key
is read here, before any connection is made, so a missing key stops the run
having written nothing."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ..masking import Keyed
from .maskcheck import SAMPLE_ROWS, sample_check
from .masking import Rules, masking, needs_key
from .pipeline import Check, Shaper
from .strict import strict_check


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
) -> MaskSteps:
    """The steps masking *rules* with the key in environment variable *key_env*;
    none when there are no rules and strict mode is off."""
    if not rules and not strict:
        return MaskSteps()
    key = Keyed.from_env(key_env, environ) if needs_key(rules) else None
    shaper = masking(key, rules, strict=strict_check(rules) if strict else None)
    return MaskSteps([shaper], [sample_check(sample)] if sample else [])


__all__ = ["MaskSteps", "mask_steps"]
