"""Expectations for replays (``crisiswatch replay --expect FILE``), in the spirit of
``promtool test rules``: alerts that must happen and alerts that must not.

```yaml
expect:                 # each item must be matched by at least one alert event
  - brand: toyota
    severity: critical  # minimum severity: info < warning < critical
    crisis_type: product_recall
    from: 2010-01-21T00:00:00Z
    until: 2010-01-22T00:00:00Z
forbid:                 # no alert event may match any item
  - severity: critical
```
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from service.domain import Alert, AlertState, Severity
from service.mentions import RecordError, parse_time
from service.yamlread import ConfigError, ConfigErrors, Located, LocatedList, load_yaml_text

_KEYS = ("brand", "severity", "crisis_type", "state", "from", "until")


@dataclass(frozen=True, kw_only=True, slots=True)
class Matcher:
    line: int
    brand: str | None = None
    severity: Severity = Severity.INFO
    crisis_type: str | None = None
    state: AlertState | None = None
    start: datetime | None = None
    until: datetime | None = None

    def matches(self, alert: Alert) -> bool:
        return ((self.brand is None or alert.brand == self.brand) and alert.severity >= self.severity
                and (self.crisis_type is None or alert.crisis_type == self.crisis_type)
                and (self.state is None or alert.state == self.state)
                and (self.start is None or alert.at >= self.start)
                and (self.until is None or alert.at <= self.until))

    def describe(self) -> str:
        parts = [f"brand={self.brand}" if self.brand else "any brand", f"severity>={self.severity}"]
        if self.crisis_type:
            parts.append(f"crisis_type={self.crisis_type}")
        if self.state:
            parts.append(f"state={self.state}")
        if self.start or self.until:
            parts.append(f"between {self.start.isoformat() if self.start else '...'} and "
                         f"{self.until.isoformat() if self.until else '...'}")
        return ", ".join(parts)


@dataclass(frozen=True, kw_only=True, slots=True)
class Expectations:
    file: str
    expect: tuple[Matcher, ...]
    forbid: tuple[Matcher, ...]

    def check(self, alerts: Sequence[Alert]) -> list[str]:
        """Every unmet expectation, one line each (empty when all are met)."""
        problems = [f"{self.file}:{m.line}: expected an alert ({m.describe()}), none matched"
                    for m in self.expect if not any(m.matches(a) for a in alerts)]
        for matcher in self.forbid:
            hits = [a for a in alerts if matcher.matches(a)]
            if hits:
                first = hits[0]
                problems.append(f"{self.file}:{matcher.line}: forbidden alert ({matcher.describe()}) happened "
                                f"{len(hits)} time(s), first at {first.at.isoformat()}: {first.brand} "
                                f"{first.severity} {first.state} {first.crisis_type}")
        return problems


def _matcher(item: object, file: str, line: int, where: str) -> Matcher:
    if not isinstance(item, Located):
        raise ConfigError("expected a mapping", file=file, line=line, key=where)
    values: dict[str, object] = {}
    for key, value in item.items():
        key_line = item.line_of(key)
        if key not in _KEYS:
            raise ConfigError(f"unknown key {key!r} (known: {', '.join(_KEYS)})", file=file, line=key_line,
                              key=f"{where}.{key}")
        try:
            if key == "severity":
                values["severity"] = Severity(value)
            elif key == "state":
                values["state"] = AlertState(value)
            elif key in ("from", "until"):
                values["start" if key == "from" else "until"] = parse_time(value, key)
            elif not isinstance(value, str):
                raise ValueError(f"expected a string, got {value!r}")
            else:
                values[key] = value
        except (ValueError, RecordError) as exc:
            raise ConfigError(str(exc), file=file, line=key_line, key=f"{where}.{key}") from None
    return Matcher(line=item.line, **values)  # type: ignore[arg-type]


def load_expectations(path: str | Path) -> Expectations:
    file = str(path)
    try:
        document = load_yaml_text(Path(path).read_text(encoding="utf-8"), file)
    except OSError as exc:
        raise ConfigErrors([ConfigError(f"cannot read: {exc.strerror}", file=file)]) from None
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    if not isinstance(document, Located):
        raise ConfigErrors([ConfigError("expected a mapping with 'expect' and/or 'forbid' lists", file=file)])
    lists: dict[str, tuple[Matcher, ...]] = {"expect": (), "forbid": ()}
    errors = []
    for key, value in document.items():
        if key not in lists:
            errors.append(ConfigError(f"unknown key {key!r} (expect, forbid)", file=file,
                                      line=document.line_of(key), key=key))
            continue
        if not isinstance(value, LocatedList):
            errors.append(ConfigError("expected a list", file=file, line=document.line_of(key), key=key))
            continue
        found = []
        for index, item in enumerate(value):
            try:
                found.append(_matcher(item, file, value.line_of(index), f"{key}[{index}]"))
            except ConfigError as exc:
                errors.append(exc)
        lists[key] = tuple(found)
    if errors:
        raise ConfigErrors(errors)
    return Expectations(file=file, expect=lists["expect"], forbid=lists["forbid"])
