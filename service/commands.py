"""What the ``check``, ``run`` and ``replay`` commands do (the CLI only parses arguments)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import timedelta
from typing import TextIO

from service.cli import EXIT_FINDINGS, EXIT_OK, UsageError
from service.clock import SimulatedClock
from service.config import Config, DetectionConfig, load_config
from service.domain import Alert, Mention, Severity
from service.mentions import ReadReport, read_mentions
from service.yamlread import parse_duration


def _colour(stream: TextIO) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


def _duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe_detection(settings: DetectionConfig) -> str:
    def mark(name: str) -> str:
        return "*" if name in settings.overrides else ""

    return (f"sensitivity={settings.sensitivity} bucket={_duration(settings.bucket)} "
            f"window={_duration(settings.window)} grace={_duration(settings.grace)} "
            f"keep_firing_for={_duration(settings.keep_firing_for)} timezone={settings.timezone} "
            f"volume_threshold={settings.volume_threshold:g}{mark('volume_threshold')} "
            f"min_volume={settings.min_volume}{mark('min_volume')} "
            f"negativity_z={settings.negativity_z:g}{mark('negativity_z')} "
            f"critical_resemblance={settings.critical_resemblance:g}{mark('critical_resemblance')} "
            f"warning_resemblance={settings.warning_resemblance:g}{mark('warning_resemblance')}")


def cmd_check(args: argparse.Namespace) -> int:
    config = load_config(args.config, check_store=True)
    out = sys.stdout
    print(f"{config.path}: OK - {len(config.brands)} brands, {len(config.sources)} sources, "
          f"{len(config.teams)} teams", file=out)
    print("effective detection settings (* = set explicitly, the rest from the sensitivity preset):", file=out)
    print(f"  (default) {describe_detection(config.detection)}", file=out)
    for name, brand in config.brands.items():
        print(f"  {name}: {describe_detection(brand.detection)}", file=out)
    return EXIT_OK


def cmd_run(args: argparse.Namespace) -> int:
    from service.app import Service, config_secrets
    from service.logs import register_secrets, setup_logging

    setup_logging(verbose=args.verbose)  # JSON lines in production, readable on a terminal
    config = load_config(args.config)
    register_secrets(config_secrets(config))  # every role: masked in the logs from the first line
    role = getattr(args, "role", "all")
    if role != "all":
        from service.scale.roles import run_scheduler, run_worker

        return run_worker(config, name=args.name) if role == "worker" else run_scheduler(config)
    return Service(config).run_forever()


def _read_inputs(inputs: Sequence[str]) -> tuple[list[Mention], list[ReadReport]]:
    mentions: list[Mention] = []
    reports = []
    for name in inputs:
        if name != "-" and not os.path.exists(name):
            raise UsageError(f"{name}: no such file")
        report = ReadReport(name)
        mentions.extend(read_mentions(name, report))
        reports.append(report)
    return mentions, reports


def _warn_skipped(reports: Sequence[ReadReport]) -> None:
    for report in reports:
        for error in report.errors:
            print(f"warning: skipped {error}", file=sys.stderr)
        if report.skipped > len(report.errors):
            print(f"warning: {report.name}: {report.skipped - len(report.errors)} more lines skipped",
                  file=sys.stderr)


def _tail(config: Config, mentions: Sequence[Mention]) -> timedelta:
    settings = [config.detection, *(config.brand(b).detection for b in {m.brand for m in mentions if m.brand}),
                *(b.detection for b in config.brands.values())]
    return max(s.keep_firing_for + s.window for s in settings) + timedelta(hours=1)


def cmd_replay(args: argparse.Namespace) -> int:
    from service.app import build_notifiers, build_pipeline
    from service.expect import load_expectations
    from service.replay import replay
    from service.store import open_store

    config = load_config(args.config)
    expectations = load_expectations(args.expect) if args.expect else None
    mentions, reports = _read_inputs(args.inputs)
    _warn_skipped(reports)
    if not mentions:
        raise UsageError("no valid mention in the input")
    try:
        tail = parse_duration(args.tail) if args.tail else _tail(config, mentions)
    except ValueError as exc:
        raise UsageError(f"--tail: {exc}") from None
    clock = SimulatedClock(min(m.published_at for m in mentions))
    store = open_store("sqlite:///:memory:")
    notifiers = build_notifiers(config, console=False, slack=args.slack)
    if args.slack and "slack" not in notifiers:
        raise UsageError("--slack needs SLACK_BOT_TOKEN or SLACK_WEBHOOK_URL (and SLACK_API_URL for a proxy)")
    pipeline = build_pipeline(config, store, clock, notifiers)
    step = min([config.detection.bucket, *(b.detection.bucket for b in config.brands.values())])
    progress = _progress(len(mentions)) if sys.stderr.isatty() and not args.json else None
    try:
        result = replay(mentions, pipeline, clock, step=step, tail=tail, progress=progress.update if progress else None)
    finally:
        if progress:
            progress.close()
    if pipeline.dispatcher is not None:
        pipeline.dispatcher.deliver_due(clock.now() + timedelta(days=365))
    if args.report:
        from service.report import report_buckets, write_report

        write_report(result, report_buckets(store, result.started, result.ended), args.report)
    if args.json:
        for alert in result.alerts:
            print(json.dumps(alert.to_record(), ensure_ascii=False))
    else:
        print_table(result.alerts, sys.stdout)
        print(f"{result.mentions} mentions replayed ({result.duplicates} duplicates, {result.unattributed} matched "
              f"no brand), {len(result.alerts)} alert events", file=sys.stdout)
    if expectations is None:
        return EXIT_OK
    problems = expectations.check(result.alerts)
    for problem in problems:
        print(f"unmet: {problem}", file=sys.stderr)
    if not problems:
        print(f"{expectations.file}: all {len(expectations.expect) + len(expectations.forbid)} expectations met",
              file=sys.stderr)
    return EXIT_FINDINGS if problems else EXIT_OK


class _Progress:
    def __init__(self, total: int) -> None:
        from rich.progress import Progress

        self.bar = Progress(transient=True)
        self.task = self.bar.add_task("replaying", total=total)
        self.bar.start()

    def update(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done)

    def close(self) -> None:
        self.bar.stop()


def _progress(total: int) -> _Progress | None:
    try:
        return _Progress(total)
    except ImportError:
        return None


_SEVERITY_COLOUR = {Severity.CRITICAL: "\033[1;31m", Severity.WARNING: "\033[33m", Severity.INFO: "\033[36m"}


def print_table(alerts: Sequence[Alert], out: TextIO) -> None:
    """The human replay output: one row per alert event."""
    colour = _colour(out)
    header = f"{'at (UTC)':<17} {'severity':<8} {'state':<9} {'brand':<11} {'type':<15} {'resembl.':>8} " \
             f"{'volume':>6} {'neg.':>5}  summary"
    print(header, file=out)
    for a in alerts:
        severity = f"{a.severity:<8}"
        if colour:
            severity = f"{_SEVERITY_COLOUR[a.severity]}{severity}\033[0m"
        print(f"{a.at:%Y-%m-%d %H:%M} {severity} {a.state:<9} {a.brand:<11} {a.crisis_type:<15} "
              f"{a.resemblance:>8.0%} {a.volume:>6} {a.negative_share:>5.0%}  {a.summary}", file=out)
