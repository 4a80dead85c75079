"""What moto 5.2.5 lacks, taught to it in the process where its server runs.

Only the rehearsal world applies these (``apply()``); the cockpit asks moto
exactly what it would ask AWS. Each patch is idempotent and has its own test.
"""

from __future__ import annotations

import math
import re
from typing import Any

_PERCENTILE = re.compile(r"^p(\d{1,2}(?:\.\d+)?|100)$")
_applied = False


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile, as CloudWatch computes it on raw samples."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100.0 * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def apply() -> None:
    """Patch moto's CloudWatch backend so ``Stat='p95'`` (any pNN) works."""
    global _applied
    if _applied:
        return
    from moto.cloudwatch import models

    original = models.Statistics.get_statistics_for_type

    def get_statistics_for_type(self: Any, stat: str) -> Any:
        match = _PERCENTILE.match(stat or "")
        if match is None:
            return original(self, stat)
        values = list(self.metric_single_values_list)
        if not values:
            # Pre-aggregated datums keep no samples: the best honest answer is
            # their maxima (a percentile never exceeds the maximum).
            values = [s.max for s in self.metric_aggregated_list]
        return percentile(values, float(match.group(1)))

    models.Statistics.get_statistics_for_type = get_statistics_for_type
    _applied = True
