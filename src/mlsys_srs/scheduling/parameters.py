"""Checking a configured FSRS parameter set: one rule and one message for every command.

Every command opens its vault through ``app.workspace.Workspace``, which checks the set here,
so ``due``, ``stats``, ``graph``, ``report``, ``export`` and ``optimize`` refuse a bad set as
``grade`` and ``review`` do. The bounds are py-fsrs's own (a test checks they are equal),
copied so that ``due`` never imports fsrs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ..errors import ConfigError

LOWER_BOUNDS: tuple[float, ...] = (
    0.001, 0.001, 0.001, 0.001, 1.0, 0.001, 0.001, 0.001, 0.0, 0.0, 0.001,
    0.001, 0.001, 0.001, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.1,
)  # fmt: skip
UPPER_BOUNDS: tuple[float, ...] = (
    100.0, 100.0, 100.0, 100.0, 10.0, 4.0, 4.0, 0.75, 4.5, 0.8, 3.5,
    5.0, 0.25, 0.9, 4.0, 1.0, 6.0, 2.0, 2.0, 0.8, 0.8,
)  # fmt: skip
"""py-fsrs's ``LOWER_BOUNDS_PARAMETERS`` and ``UPPER_BOUNDS_PARAMETERS`` (FSRS-6's 21 weights)."""


def check_parameters(parameters: Sequence[float], origin: str = "") -> None:
    """Refuse a set that is not 0, 17, 19 or 21 finite weights within py-fsrs's bounds.

    An FSRS-4.5 (17) or FSRS-5 (19) set is checked weight by weight as written (its first
    weights mean what FSRS-6's do); empty means py-fsrs's defaults.

    Raises:
        ConfigError: one line naming the file (``origin``), the weight and its bounds.
    """
    where = f"{origin}: " if origin else ""
    values = list(parameters)
    if not values:
        return
    if len(values) not in (17, 19, 21):
        raise ConfigError(f"{where}schedule.parameters must be 17, 19 or 21 FSRS weights, not {len(values)}")
    for i, (x, low, high) in enumerate(zip(values, LOWER_BOUNDS, UPPER_BOUNDS, strict=False)):
        if (
            isinstance(x, bool)
            or not isinstance(x, int | float)
            or not math.isfinite(x)
            or not low <= x <= high
        ):
            raise ConfigError(
                f"{where}schedule.parameters: weight {i} is {x}, outside py-fsrs's bounds {low} to {high}"
            )
