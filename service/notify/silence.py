"""Silences and inhibition as pure functions over alert labels (brand, team, severity, crisis_type, lang).

A silence mutes the alerts whose labels match every one of its matchers while it is active
(``starts_at <= now < ends_at``). Matchers compare with ``=``, ``!=``, ``=~`` or ``!~``; regular
expressions must match the whole value, as in Alertmanager. An inhibit rule mutes the alerts of an
incident matching its ``target`` while *another* open incident matches its ``source`` with the same
values for the ``equal`` labels.

>>> from datetime import UTC, datetime, timedelta
>>> m = parse_matcher("brand=~toy.*")
>>> label_matches(m, {"brand": "toyota"}), label_matches(m, {"brand": "my-toyota"})
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import lru_cache

from service.config import MATCH_LABELS, InhibitRule
from service.store.base import Matcher, MatchOp, Silence

_OPS = (MatchOp.NOT_REGEX, MatchOp.REGEX, MatchOp.NOT_EQUAL, MatchOp.EQUAL)  # longest operators first


class MatcherError(ValueError):
    """A matcher written on the command line that cannot be used."""


def parse_matcher(text: str) -> Matcher:
    """``label=value``, ``label!=value``, ``label=~regex`` or ``label!~regex``.

    >>> parse_matcher("severity!=critical")
    Matcher(label='severity', value='critical', op=<MatchOp.NOT_EQUAL: '!='>)
    """
    for op in _OPS:
        label, sep, value = text.partition(op.value)
        if sep and label and not any(other.value in label for other in _OPS if other is not op):
            label = label.strip()
            if label not in MATCH_LABELS:
                raise MatcherError(f"unknown label {label!r} in {text!r} (expected {', '.join(MATCH_LABELS)})")
            if op in (MatchOp.REGEX, MatchOp.NOT_REGEX):
                try:
                    _compiled(value)
                except re.error as exc:
                    raise MatcherError(f"invalid regular expression in {text!r}: {exc}") from None
            return Matcher(label=label, value=value.strip(), op=op)
    raise MatcherError(f"expected label=value, label!=value, label=~regex or label!~regex, got {text!r}")


@lru_cache(maxsize=256)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def label_matches(matcher: Matcher, labels: Mapping[str, str]) -> bool:
    value = labels.get(matcher.label, "")
    if matcher.op is MatchOp.EQUAL:
        return value == matcher.value
    if matcher.op is MatchOp.NOT_EQUAL:
        return value != matcher.value
    try:
        found = _compiled(matcher.value).fullmatch(value) is not None
    except re.error:  # stored by another version: an unusable matcher matches nothing
        return matcher.op is MatchOp.NOT_REGEX
    return found if matcher.op is MatchOp.REGEX else not found


def is_active(silence: Silence, now: datetime) -> bool:
    return silence.starts_at <= now < silence.ends_at


def silenced_by(silences: Iterable[Silence], labels: Mapping[str, str], now: datetime) -> Silence | None:
    """The first active silence whose matchers all match ``labels`` (``None``: not silenced)."""
    for silence in silences:
        if is_active(silence, now) and silence.matchers and all(label_matches(m, labels) for m in silence.matchers):
            return silence
    return None


def _matches(match: Mapping[str, tuple[str, ...]], labels: Mapping[str, str]) -> bool:
    return all(labels.get(label, "") in allowed for label, allowed in match.items())


def inhibited_by(rules: Sequence[InhibitRule], target: Mapping[str, str], incident_id: str,
                 sources: Iterable[tuple[str, Mapping[str, str]]]) -> tuple[InhibitRule, str] | None:
    """The rule and source incident id that mute an alert with labels ``target`` of ``incident_id``.

    ``sources`` are the open incidents as ``(incident id, labels)``; an incident never inhibits itself.
    """
    candidates = [rule for rule in rules if _matches(rule.target, target)]
    if not candidates:
        return None
    for source_id, labels in sources:
        if source_id == incident_id:
            continue
        for rule in candidates:
            if _matches(rule.source, labels) and all(labels.get(k, "") == target.get(k, "") for k in rule.equal):
                return rule, source_id
    return None


def describe(silence: Silence) -> str:
    """``brand=toyota, severity=~warn.*`` (for listings and logs)."""
    return ", ".join(f"{m.label}{m.op.value}{m.value}" for m in silence.matchers)
