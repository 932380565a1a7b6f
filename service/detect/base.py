"""The one small API every detector offers (after river's ``anomaly/base.py``).

A detector follows one brand's stream of buckets in time order. ``x`` is what it reads of the bucket
that starts at ``at``: a count for :class:`~service.detect.volume.VolumeDetector`, a
:class:`~service.detect.brand.Step` (the bucket and the window it closes) for
:class:`~service.detect.brand.BrandDetector`.

- ``score_one(at, x)`` says how anomalous ``x`` is, in [0, 1] (higher: more anomalous), from what was
  learned before ``at`` only, and changes nothing; it is 0 during the grace period.
- ``learn_one(at, x)`` learns from ``x``; what is anomalous must not become the baseline (protected
  baseline), or a crisis would become the new normal.
- ``expected(at)`` is the baseline: the mentions expected in the bucket starting at ``at``.
- ``to_state()`` is JSON-compatible; the detector's class rebuilds from it a detector that continues
  exactly (``VolumeDetector.from_state(params, state)``, ``BrandDetector(..., state=state)``).

Detectors are deterministic. ``tests/test_detectors_contract.py`` runs one check suite over each.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol, TypeVar, runtime_checkable

X = TypeVar("X", contravariant=True)


@runtime_checkable
class Detector(Protocol[X]):
    """A streaming detector of one brand's buckets (see the module docstring for the contract)."""

    def score_one(self, at: datetime, x: X, /) -> float:
        """How anomalous ``x`` is, in [0, 1], without learning it."""
        ...

    def learn_one(self, at: datetime, x: X, /) -> None:
        """Learn from ``x`` (anomalous input must not move the baseline much)."""
        ...

    def expected(self, at: datetime, /) -> float:
        """Mentions the baseline expects in the bucket starting at ``at``."""
        ...

    def to_state(self) -> dict[str, Any]:
        """JSON-compatible state from which the detector's class restores it exactly."""
        ...
