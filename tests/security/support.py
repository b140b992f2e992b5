"""Shared helpers of the security tests: the canary oracle and the fuzzing budget."""
from __future__ import annotations

import os
import re

from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

from gameplay.leak_guard import CANARY

_SQUASHED_CANARY = re.sub(r"[^0-9a-z]", "", CANARY.lower())


def squashed_canary_in(text: str) -> bool:
    """Whether the canary is in `text`, ignoring case, spacing and punctuation."""
    return _SQUASHED_CANARY in re.sub(r"[^0-9a-z]", "", text.lower())


# Property-based tests run FUZZ_EXAMPLES examples each: about a hundred by default, so the suite
# stays quick; TANKARD_FUZZ_EXAMPLES=5000 for a long hunt.
FUZZ_EXAMPLES = int(os.environ.get("TANKARD_FUZZ_EXAMPLES", "100"))
fuzz = hypothesis_settings(
    max_examples=FUZZ_EXAMPLES, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.data_too_large],
)
