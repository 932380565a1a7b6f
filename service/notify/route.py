"""Routing: which teams receive an alert, as a pure walk of the routing tree from alerts.yaml.

Children are tried in order; the first that matches takes the alert unless it says
``continue: true``, in which case the next siblings are tried too. When no child matches, the node's
own team receives it. The root matches everything (it is the default route).
"""

from __future__ import annotations

from collections.abc import Mapping

from service.config import RouteConfig, RouteOptions
from service.domain import Severity


def matches(route: RouteConfig, labels: Mapping[str, str], severity: Severity) -> bool:
    if severity < route.min_severity:
        return False
    return all(labels.get(label, "") in allowed for label, allowed in route.match.items())


def teams_for(route: RouteConfig, labels: Mapping[str, str], severity: Severity) -> list[str]:
    """Teams that receive an alert with these labels (brand, team, severity, crisis_type, lang).

    >>> from service.config import RouteConfig
    >>> tree = RouteConfig(team="watch", routes=(
    ...     RouteConfig(team="crisis-cell", match={"severity": ("critical",)}, continue_=True),
    ...     RouteConfig(team="comms-fr", match={"brand": ("peugeot",)}),))
    >>> teams_for(tree, {"brand": "peugeot", "severity": "critical"}, Severity.CRITICAL)
    ['crisis-cell', 'comms-fr']
    >>> teams_for(tree, {"brand": "toyota", "severity": "warning"}, Severity.WARNING)
    ['watch']
    """
    found: list[str] = []
    for child in route.routes:
        if matches(child, labels, severity):
            found.extend(teams_for(child, labels, severity))
            if not child.continue_:
                break
    if not found:
        found.append(route.team)
    return list(dict.fromkeys(found))


def routes_for(route: RouteConfig, labels: Mapping[str, str], severity: Severity) -> list[tuple[str, RouteOptions]]:
    """Like :func:`teams_for`, with the options of the route node that chose each team (the first
    node wins when several choose the same team)."""
    found: list[tuple[str, RouteOptions]] = []
    for child in route.routes:
        if matches(child, labels, severity):
            found.extend(routes_for(child, labels, severity))
            if not child.continue_:
                break
    if not found:
        found.append((route.team, route.options))
    chosen: dict[str, RouteOptions] = {}
    for team, options in found:
        chosen.setdefault(team, options)
    return list(chosen.items())
