"""Waiting in tests for something another thread or process does (polling, with a deadline)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(condition: Callable[[], bool], seconds: float = 30.0) -> bool:
    """Whether ``condition()`` became true within ``seconds`` (checked every 50 ms, and once at the end)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()
