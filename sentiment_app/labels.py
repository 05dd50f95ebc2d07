"""Label names users write (0/1, negative/positive, ...) mapped to class ids."""

from __future__ import annotations

import numpy as np

NEGATIVE_NAMES = {"0", "neg", "negative", "rotten", "bad", "false"}
POSITIVE_NAMES = {"1", "pos", "positive", "fresh", "good", "true"}


def label_to_id(value: object) -> int | None:
    """0/1, booleans, or names such as negative/positive; None for anything else."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, np.integer)) and int(value) in (0, 1):
        return int(value)
    if isinstance(value, float) and value in (0.0, 1.0):
        return int(value)
    name = str(value).strip().casefold()
    if name in NEGATIVE_NAMES:
        return 0
    if name in POSITIVE_NAMES:
        return 1
    return None
