"""``crisiswatch bench incidents``: the replay library through the production pipeline.

For every labelled scenario (``tests/fixtures/replays/*/scenario.yaml``) it replays the mentions
exactly as ``crisiswatch replay`` does and measures, against the labelled onset: whether each
crisis reached warning and critical, the time to detect, critical alerts raised on harmless
scenarios, and whether the crisis type was right. Figures are printed last, one per line.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import yaml

from service.clock import SimulatedClock
from service.config import Config, load_config
from service.detect.resemblance import read_drivers
from service.domain import Alert, Severity
from service.expect import load_expectations
from service.mentions import parse_time, read_mentions

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LIBRARY = ROOT / "tests" / "fixtures" / "replays"
TARGET_FAST_MINUTES = 30


@dataclass(frozen=True, kw_only=True, slots=True)
class Outcome:
    name: str
    kind: str
    brand: str
    expected_type: str
    fast_onset: bool
    onset: datetime | None
    first_warning: datetime | None
    first_critical: datetime | None
    detected_type: str | None
    why: tuple[str, ...]
    """Explanation of the alert that gave ``detected_type`` (its first line names what made the type)."""
    harmless_criticals: int
    unmet_expectations: int

    @property
    def is_crisis(self) -> bool:
        return self.kind == "crisis"

    def minutes_to(self, at: datetime | None) -> float | None:
        return None if at is None or self.onset is None else (at - self.onset) / timedelta(minutes=1)

    @property
    def type_correct(self) -> bool | None:
        if self.detected_type is None:
            return None if not self.is_crisis else False
        return self.detected_type == self.expected_type


def replay_scenario(folder: Path, config: Config) -> list[Alert]:
    from service.app import build_pipeline
    from service.replay import replay
    from service.store import open_store

    mentions = list(read_mentions(folder / "mentions.jsonl.gz"))
    clock = SimulatedClock(min(m.published_at for m in mentions))
    pipeline = build_pipeline(config, open_store("sqlite:///:memory:"), clock, {})
    settings = [config.detection, *(b.detection for b in config.brands.values())]
    tail = max(s.keep_firing_for + s.window for s in settings) + timedelta(hours=1)
    step = min(s.bucket for s in settings)
    return replay(mentions, pipeline, clock, step=step, tail=tail).alerts


def judge(folder: Path, alerts: list[Alert]) -> Outcome:
    label = yaml.safe_load((folder / "scenario.yaml").read_text(encoding="utf-8"))
    brand, kind = str(label["brand"]), str(label["kind"])
    onset = parse_time(label["onset"]) if label.get("onset") else None
    mine = [a for a in alerts if a.brand == brand and (onset is None or a.at >= onset)]
    warning = next((a for a in mine if a.severity >= Severity.WARNING), None)
    critical = next((a for a in mine if a.severity is Severity.CRITICAL), None)
    strongest = max(mine, key=lambda a: (a.severity.rank, a.resemblance), default=None)
    typed = critical if kind == "crisis" else strongest
    unmet = load_expectations(folder / "expect.yaml").check(alerts) if (folder / "expect.yaml").exists() else []
    return Outcome(name=folder.name, kind=kind, brand=brand, expected_type=str(label.get("crisis_type", "none")),
                   fast_onset=bool(label.get("fast_onset", False)), onset=onset,
                   first_warning=warning.at if warning else None, first_critical=critical.at if critical else None,
                   detected_type=typed.crisis_type if typed else None, why=typed.explanation if typed else (),
                   harmless_criticals=0 if kind == "crisis" else sum(a.severity is Severity.CRITICAL for a in alerts),
                   unmet_expectations=len(unmet))


def _fmt(minutes: float | None) -> str:
    if minutes is None:
        return "-"
    return f"{minutes:.0f} min" if minutes < 120 else f"{minutes / 60:.1f} h"


def top_features(why: tuple[str, ...], count: int = 3) -> str:
    """The features that made the type, from the alert's explanation (``-name``: a penalty)."""
    drivers = read_drivers(why[0]) if why else ()
    made = [f"{name} {value:.2f}" for name, value in drivers if value > 0][:count]
    held = [f"-{name} {-value:.2f}" for name, value in drivers if value < 0][:1]
    return ", ".join(made + held) or "-"


def type_table(outcomes: list[Outcome]) -> list[str]:
    """Why each scenario got its type: expected, given, and the features that weighed most."""
    lines = [f"{'scenario':<34} {'expected type':<16} {'given type':<16} top features of the given type"]
    for o in outcomes:
        mark = "" if o.type_correct is None else " ok" if o.type_correct else " MISS"
        lines.append(f"{o.name:<34} {o.expected_type:<16} {(o.detected_type or '-') + mark:<16} {top_features(o.why)}")
    return lines


def report(outcomes: list[Outcome]) -> list[str]:
    lines = [f"{'scenario':<34} {'kind':<8} {'type (expected)':<32} {'warning':>9} {'critical':>9} "
             f"{'harmless crit.':>14} {'unmet':>5}"]
    for o in outcomes:
        typed = f"{o.detected_type or '-'} ({o.expected_type})"
        lines.append(f"{o.name:<34} {o.kind:<8} {typed:<32} {_fmt(o.minutes_to(o.first_warning)):>9} "
                     f"{_fmt(o.minutes_to(o.first_critical)):>9} {o.harmless_criticals:>14} {o.unmet_expectations:>5}")
    crises = [o for o in outcomes if o.is_crisis]
    harmless = [o for o in outcomes if not o.is_crisis]
    fast = [m for o in crises if o.fast_onset and (m := o.minutes_to(o.first_critical)) is not None]
    all_times = [m for o in crises if (m := o.minutes_to(o.first_critical)) is not None]
    typed = [o.type_correct for o in outcomes if o.type_correct is not None]
    lines += ["", *type_table(outcomes), "",
        f"crises: {len(crises)}, harmless scenarios: {len(harmless)} (targets: every crisis critical, no harmless "
        f"critical, fast-onset median <= {TARGET_FAST_MINUTES} min, type right >= 90 %)",
        f"crises_detected_warning {sum(o.first_warning is not None for o in crises)}/{len(crises)}",
        f"crises_detected_critical {sum(o.first_critical is not None for o in crises)}/{len(crises)}",
        f"median_minutes_to_critical_fast_onset {statistics.median(fast):.0f}" if fast else
        "median_minutes_to_critical_fast_onset -",
        f"worst_minutes_to_critical_fast_onset {max(fast):.0f}" if fast else "worst_minutes_to_critical_fast_onset -",
        f"median_minutes_to_critical_all {statistics.median(all_times):.0f}" if all_times else
        "median_minutes_to_critical_all -",
        f"worst_minutes_to_critical_all {max(all_times):.0f}" if all_times else "worst_minutes_to_critical_all -",
        f"harmless_scenarios_with_critical {sum(o.harmless_criticals > 0 for o in harmless)}/{len(harmless)}",
        f"crisis_type_accuracy {sum(typed) / len(typed):.3f}" if typed else "crisis_type_accuracy -",
        f"unmet_expectations {sum(o.unmet_expectations for o in outcomes)}",
    ]
    return lines


def cli_bench_incidents(args: argparse.Namespace) -> int:
    library = Path(args.library)
    config = load_config(args.config)
    folders = sorted(p.parent for p in library.glob("*/scenario.yaml"))
    if args.only:
        folders = [f for f in folders if f.name in set(args.only)]
    if not folders:
        print(f"error: no scenario under {library}", file=sys.stderr)
        return 2
    outcomes = []
    for folder in folders:
        if sys.stderr.isatty():
            print(f"replaying {folder.name} ...", file=sys.stderr)
        outcomes.append(judge(folder, replay_scenario(folder, config)))
    for line in report(outcomes):
        print(line)
    return 0
