"""Routing tree as a table test on the pure function."""

from __future__ import annotations

import pytest

from service.config import RouteConfig
from service.domain import Severity
from service.notify.route import teams_for

TREE = RouteConfig(team="desk", routes=(
    RouteConfig(team="crisis-cell", match={"brand": ("peugeot", "citroen"), "severity": ("critical",)},
                continue_=True),
    RouteConfig(team="comms-peugeot", match={"brand": ("peugeot",)}),
    RouteConfig(team="intel", match={"team": ("competitive-intel",)}, min_severity=Severity.WARNING,
                routes=(RouteConfig(team="intel-recalls", match={"crisis_type": ("product_recall",)}),)),
))


@pytest.mark.parametrize(("labels", "severity", "teams"), [
    ({"brand": "peugeot"}, Severity.CRITICAL, ["crisis-cell", "comms-peugeot"]),
    ({"brand": "peugeot"}, Severity.WARNING, ["comms-peugeot"]),
    ({"brand": "citroen"}, Severity.CRITICAL, ["crisis-cell"]),
    ({"brand": "citroen"}, Severity.INFO, ["desk"]),
    ({"brand": "toyota", "team": "competitive-intel", "crisis_type": "product_recall"}, Severity.CRITICAL,
     ["intel-recalls"]),
    ({"brand": "toyota", "team": "competitive-intel", "crisis_type": "event"}, Severity.WARNING, ["intel"]),
    ({"brand": "toyota", "team": "competitive-intel"}, Severity.INFO, ["desk"]),
    ({"brand": "somebody-else"}, Severity.CRITICAL, ["desk"]),
])
def test_routing_table(labels: dict, severity: Severity, teams: list[str]) -> None:
    labels = {"severity": str(severity), **labels}
    assert teams_for(TREE, labels, severity) == teams
