"""``crisiswatch silence add | list | expire``: silences kept in the store named by ``--config``.

    crisiswatch silence add --match brand=toyota --match severity!=critical --duration 2h \\
        --comment "recall already handled by the crisis cell"
    crisiswatch silence list [--all] [--json]
    crisiswatch silence expire ID

Matchers: ``label=value``, ``label!=value``, ``label=~regex``, ``label!~regex`` on brand, team,
severity, crisis_type and lang; a silence needs at least one. ``add`` prints the new id.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import uuid
from datetime import datetime, timedelta
from typing import TextIO

from service.clock import Clock, SystemClock, ensure_utc
from service.config import load_config
from service.notify.silence import MatcherError, describe, is_active, parse_matcher
from service.store import open_store
from service.store.base import Silence, Store
from service.yamlread import parse_duration

MAX_DURATION = timedelta(days=365)


class SilenceUsageError(Exception):
    """Bad arguments (exit status 2)."""


def cli_silence(args: argparse.Namespace, *, clock: Clock | None = None, out: TextIO | None = None) -> int:
    """Entry point of ``crisiswatch silence``; the store comes from ``--config``."""
    from service.cli import UsageError

    config = load_config(args.config)
    try:
        store = open_store(config.store)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    try:
        return run(args, store, clock or SystemClock(), out or sys.stdout)
    except SilenceUsageError as exc:
        raise UsageError(str(exc)) from None
    finally:
        store.close()


def run(args: argparse.Namespace, store: Store, clock: Clock, out: TextIO) -> int:
    now = clock.now()
    if args.silence == "add":
        silence = new_silence(args.match, args.duration, args.comment, args.author or _user(), now,
                              start=args.start)
        store.add_silence(silence)
        print(silence.id, file=out)
        return 0
    if args.silence == "expire":
        ended = store.expire_silence(args.id, now)
        if ended is None:
            raise SilenceUsageError(f"no silence with id {args.id!r} (see crisiswatch silence list --all)")
        print(f"expired {ended.id} ({describe(ended)})", file=out)
        return 0
    shown = [s for s in store.silences() if args.all or s.ends_at > now]
    if args.json:
        for s in shown:
            print(json.dumps(silence_record(s, now), ensure_ascii=False), file=out)
    else:
        print(format_table(shown, now), file=out)
    return 0


def new_silence(matchers: list[str] | None, duration: str, comment: str, author: str, now: datetime, *,
                start: str | None = None) -> Silence:
    """A silence from command-line values (errors say what to write instead)."""
    if not matchers:
        raise SilenceUsageError("a silence needs at least one --match, e.g. --match brand=toyota")
    try:
        parsed = tuple(parse_matcher(m) for m in matchers)
    except MatcherError as exc:
        raise SilenceUsageError(str(exc)) from None
    try:
        length = parse_duration(duration)
    except ValueError as exc:
        raise SilenceUsageError(f"--duration: {exc}") from None
    if not timedelta(0) < length <= MAX_DURATION:
        raise SilenceUsageError(f"--duration must be positive and at most {MAX_DURATION.days} days")
    try:
        starts = ensure_utc(datetime.fromisoformat(start)) if start else now
    except ValueError as exc:
        raise SilenceUsageError(f"--start: expected an ISO 8601 time with an offset, got {start!r} ({exc})") from None
    if not comment.strip():
        raise SilenceUsageError("--comment must say why (it is shown to whoever wonders where the alerts went)")
    return Silence(id=uuid.uuid4().hex[:12], matchers=parsed, starts_at=starts, ends_at=starts + length,
                   created_by=author, comment=comment.strip(), created_at=now)


def silence_record(silence: Silence, now: datetime) -> dict[str, object]:
    state = "active" if is_active(silence, now) else "pending" if silence.starts_at > now else "expired"
    return {"id": silence.id, "state": state, "matchers": describe(silence),
            "starts_at": silence.starts_at.isoformat(), "ends_at": silence.ends_at.isoformat(),
            "created_by": silence.created_by, "comment": silence.comment}


def format_table(silences: list[Silence], now: datetime) -> str:
    if not silences:
        return "no silences"
    rows = [silence_record(s, now) for s in silences]
    lines = [f"{'ID':<12}  {'STATE':<8}  {'ENDS (UTC)':<16}  {'BY':<12}  MATCHERS / COMMENT"]
    for row in rows:
        ends = datetime.fromisoformat(str(row["ends_at"]))
        lines.append(f"{row['id']:<12}  {row['state']:<8}  {ends:%Y-%m-%d %H:%M}  {str(row['created_by'])[:12]:<12}  "
                     f"{row['matchers']} — {row['comment']}")
    return "\n".join(lines)


def _user() -> str:
    try:
        return os.environ.get("CRISISWATCH_USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
