"""--expect files: loading with located errors, matching, unmet expectations listed."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from service.domain import Alert, AlertState, Severity
from service.expect import load_expectations
from service.yamlread import ConfigErrors


def alert(brand: str, severity: Severity, at: datetime, crisis_type: str = "product_recall") -> Alert:
    return Alert(at=at, brand=brand, incident_id=f"{brand}-1", state=AlertState.FIRING, severity=severity,
                 crisis_type=crisis_type, resemblance=0.8, volume=100, negative_share=0.6, summary="s")


def test_expectations_met_and_unmet(tmp_path: Path) -> None:
    path = tmp_path / "expect.yaml"
    path.write_text("""\
expect:
  - brand: toyota
    severity: critical
    crisis_type: product_recall
    from: 2010-01-21T00:00:00Z
    until: 2010-01-22T00:00:00Z
  - brand: toyota
    severity: warning
    from: 2010-02-08T00:00:00Z
forbid:
  - brand: peugeot
    severity: warning
""")
    expectations = load_expectations(path)
    alerts = [alert("toyota", Severity.CRITICAL, datetime(2010, 1, 21, 14, tzinfo=UTC)),
              alert("peugeot", Severity.CRITICAL, datetime(2010, 1, 25, tzinfo=UTC), "negative_buzz")]
    problems = expectations.check(alerts)
    assert problems == [
        f"{path}:7: expected an alert (brand=toyota, severity>=warning, between 2010-02-08T00:00:00+00:00 and ...),"
        " none matched",
        f"{path}:11: forbidden alert (brand=peugeot, severity>=warning) happened 1 time(s), first at "
        "2010-01-25T00:00:00+00:00: peugeot critical firing negative_buzz",
    ]
    later = alert("toyota", Severity.WARNING, datetime(2010, 2, 9, tzinfo=UTC))
    assert expectations.check([alerts[0], later]) == []


def test_bad_expect_file_names_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "expect.yaml"
    path.write_text("expect:\n  - brand: toyota\n    severty: critical\n")
    with pytest.raises(ConfigErrors) as caught:
        load_expectations(path)
    assert str(caught.value) == (f"{path}:3: expect[0].severty: unknown key 'severty' "
                                 "(known: brand, severity, crisis_type, state, from, until)")
    path.write_text("expect:\n  - severity: huge\n")
    with pytest.raises(ConfigErrors, match=r":2: expect\[0\].severity: 'huge' is not a valid Severity"):
        load_expectations(path)
