"""alerts.yaml parsing: the shipped file is valid; every broken file names file, line and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from service.config import NEVER, load_config, parse_config
from service.detect.brand import volume_params
from service.domain import Severity, SourceKind
from service.yamlread import ConfigErrors, Secret, parse_duration

ROOT = Path(__file__).resolve().parents[1]

MINIMAL = """\
version: 1
brands:
  peugeot:
    query: peugeot
teams:
  desk:
    slack_channel: "#desk"
route:
  team: desk
"""


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as caught:
        parse_config(text, "alerts.yaml")
    return [str(e) for e in caught.value.errors]


def test_shipped_alerts_yaml_is_valid() -> None:
    config = load_config(ROOT / "alerts.yaml")
    assert {"peugeot", "citroen", "renault", "toyota", "volkswagen"} <= set(config.brands)
    assert config.brands["peugeot"].own and not config.brands["toyota"].own
    assert config.brands["peugeot"].detection.sensitivity == "more"
    assert config.brands["volkswagen"].detection.min_volume == 25
    assert all(source.kind in SourceKind for source in config.sources.values())
    assert config.sources["gnews-peugeot-fr"].options["url"].startswith("https://news.google.com/rss/")


def test_minimal_config_gets_defaults() -> None:
    config = parse_config(MINIMAL)
    assert config.detection.bucket == timedelta(minutes=5)
    assert config.route.team == "desk"
    assert config.brand("unknown-brand").detection == config.detection
    assert config.brand("unknown-brand").query is None


@pytest.mark.parametrize(("snippet", "expected"), [
    ("detection:\n  bucket: 5 minutes\n",
     "alerts.yaml:11: detection.bucket: expected a duration such as 5m, 2h or 7d, got '5 minutes'"),
    ("detection:\n  windw: 30m\n", "alerts.yaml:11: detection.windw: unknown key 'windw'"),
    ("detection:\n  window: 7m\n", "alerts.yaml:11: detection.window: window must be a whole number of buckets"),
    ("detection:\n  sensitivity: paranoid\n",
     "alerts.yaml:11: detection.sensitivity: expected one of fewer, balanced, more, got 'paranoid'"),
    ("detection:\n  min_volume: -3\n", "alerts.yaml:11: detection.min_volume: must be at least 1, got -3"),
    ("detection:\n  volume_threshold: yes\n",
     "alerts.yaml:11: detection.volume_threshold: expected a number, got a boolean"),
    ("detection:\n  timezone: Mars/Olympus\n",
     "alerts.yaml:11: detection.timezone: unknown time zone 'Mars/Olympus' (use an IANA name such as Europe/Paris)"),
    ("colour: blue\n", "alerts.yaml:10: colour: unknown key 'colour'"),
])
def test_exact_error_messages(snippet: str, expected: str) -> None:
    assert errors_of(MINIMAL + snippet) == [expected]


def test_undefined_references_are_named() -> None:
    text = """\
version: 1
brands:
  peugeot:
    query: peugeot
    team: nobody
teams:
  desk: {}
sources:
  feed:
    type: rss
    url: https://example.org/feed.xml
    brands: [fiat]
route:
  team: ghost
  routes:
    - match: {brand: [opel]}
      team: desk
"""
    assert errors_of(text) == [
        'alerts.yaml:5: brands.peugeot.team: undefined team "nobody" used in brand',
        'alerts.yaml:12: sources.feed.brands: undefined brand "fiat" used in source',
        'alerts.yaml:14: route.team: undefined team "ghost" used in route',
        'alerts.yaml:16: route.routes[0].match.brand: undefined brand "opel" used in route',
    ]


def test_bad_query_points_at_the_column() -> None:
    assert errors_of(MINIMAL.replace("query: peugeot", "query: (peugeot OR")) == [
        "alerts.yaml:4: brands.peugeot.query: dangling OR at column 10"]


def test_yaml_syntax_error_has_a_line() -> None:
    [message] = errors_of("brands:\n  peugeot: [unclosed\n")
    assert message.startswith("alerts.yaml:3: invalid YAML")


def test_duplicate_keys_are_refused() -> None:
    assert errors_of(MINIMAL + "route:\n  team: desk\n") == ["alerts.yaml:10: duplicate key 'route'"]


def test_missing_route_and_query() -> None:
    assert errors_of("brands:\n  peugeot:\n    team: x\n") == [
        "alerts.yaml:1: route: missing required key 'team'",
        "alerts.yaml:3: brands.peugeot: missing required key 'query'",
        'alerts.yaml:3: brands.peugeot.team: undefined team "x" used in brand',
    ]


def test_source_options_are_checked_by_type() -> None:
    text = MINIMAL + "sources:\n  feed:\n    type: carrier-pigeon\n"
    [message] = errors_of(text)
    assert message.startswith('alerts.yaml:12: sources.feed.type: unknown source type "carrier-pigeon"')


def test_secrets_come_from_the_environment_and_never_print(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_SLACK_TOKEN", "xoxb-very-secret")
    config = parse_config(MINIMAL + "slack:\n  bot_token: ${MY_SLACK_TOKEN}\n")
    assert isinstance(config.slack.bot_token, Secret)
    assert config.slack.bot_token.reveal() == "xoxb-very-secret"
    assert "xoxb-very-secret" not in repr(config) and "xoxb-very-secret" not in str(config.slack)


def test_missing_required_environment_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    assert errors_of(MINIMAL + "slack:\n  bot_token: ${NOT_SET_ANYWHERE}\n") == [
        "alerts.yaml:11: slack.bot_token: environment variable NOT_SET_ANYWHERE is not set "
        "(write ${NOT_SET_ANYWHERE:-} to make it optional)"]
    config = parse_config(MINIMAL + "slack:\n  bot_token: ${NOT_SET_ANYWHERE:-}\n")
    assert config.slack.bot_token is None


def test_store_override_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRISISWATCH_STORE", "redis://127.0.0.1:6379/3")
    assert parse_config(MINIMAL + "store: sqlite:///x.db\n").store == "redis://127.0.0.1:6379/3"


def test_brand_overrides_keep_explicit_defaults() -> None:
    config = parse_config(MINIMAL.replace("query: peugeot", "query: peugeot\n    detection: {sensitivity: more}")
                          + "detection:\n  min_volume: 40\n")
    brand = config.brands["peugeot"].detection
    assert brand.sensitivity == "more"
    assert brand.min_volume == 40  # explicit default wins over the preset
    assert brand.volume_threshold == 0.97  # preset value


def test_detection_timezone_defaults_to_utc_and_brands_override_it() -> None:
    assert parse_config(MINIMAL).detection.timezone == "UTC"
    config = parse_config(MINIMAL.replace("query: peugeot", "query: peugeot\n    detection: {timezone: Europe/Paris}")
                          + "detection:\n  timezone: America/New_York\n")
    assert config.detection.timezone == "America/New_York"  # the default of every brand
    assert config.brands["peugeot"].detection.timezone == "Europe/Paris"
    assert config.brand("unknown-brand").detection.timezone == "America/New_York"
    assert volume_params(config.brands["peugeot"].detection).timezone == "Europe/Paris"  # reaches the detector
    assert volume_params(parse_config(MINIMAL).detection).timezone is None  # UTC: the detector's UTC path


def test_unknown_brand_timezone_is_located() -> None:
    text = MINIMAL.replace("query: peugeot", "query: peugeot\n    detection: {timezone: Paris}")
    assert errors_of(text) == ["alerts.yaml:5: brands.peugeot.detection.timezone: unknown time zone 'Paris' "
                               "(use an IANA name such as Europe/Paris)"]


def test_route_tree_parsed() -> None:
    config = parse_config(MINIMAL.replace(
        "route:\n  team: desk\n",
        "route:\n  team: desk\n  routes:\n    - match: {severity: critical}\n"
        "      min_severity: warning\n      continue: true\n"))
    [child] = config.route.routes
    assert child.match == {"severity": ("critical",)}
    assert child.continue_ and child.team == "desk" and child.min_severity is Severity.WARNING


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("2d", 172800),
                                               ("1w", 604800), ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text).total_seconds() == seconds


@pytest.mark.parametrize("text", ["", "5", "m5", "5 m", "5mm", "-5m", "five minutes"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="expected a duration"):
        parse_duration(text)


def test_route_options_inherited_and_notify_section(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", "hook-secret-value")
    config = parse_config(MINIMAL.replace("route:\n  team: desk\n", """\
route:
  team: desk
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 4h
  quiet_hours: {from: "22:00", to: "07:00", timezone: Europe/Paris, except_critical: false}
  routes:
    - match: {severity: critical}
      group_wait: 0s
      quiet_hours: false
    - match: {brand: peugeot}
inhibit:
  - source: {severity: critical}
    target: {severity: [warning, info]}
    equal: [brand]
notify:
  overdue_after: 10m
""").replace("    slack_channel: \"#desk\"\n", "    slack_channel: \"#desk\"\n    webhook:\n"
             "      url: https://hooks.example.com/crisis\n      secret: ${HOOK_SECRET}\n"))
    root, critical, peugeot = config.route, *config.route.routes
    assert root.options.group_wait == timedelta(seconds=30) and root.options.repeat_interval == timedelta(hours=4)
    assert root.options.quiet_hours is not None and not root.options.quiet_hours.except_critical
    assert critical.options.group_wait == timedelta(0) and critical.options.quiet_hours is None
    assert critical.options.group_interval == timedelta(minutes=5)  # inherited
    assert peugeot.options == root.options
    [rule] = config.inhibit
    assert rule.source == {"severity": ("critical",)} and rule.target == {"severity": ("warning", "info")}
    assert rule.equal == ("brand",)
    assert config.notify.overdue_after == timedelta(minutes=10)
    hook = config.teams["desk"].webhook
    assert hook is not None and hook.secret is not None and hook.secret.reveal() == "hook-secret-value"
    assert "hook-secret-value" not in repr(config)


def test_defaults_keep_routing_immediate() -> None:
    config = parse_config(MINIMAL)
    assert config.route.options.group_wait == timedelta(0) and config.route.options.repeat_interval is None
    assert config.inhibit == () and config.notify.overdue_after == timedelta(minutes=15)


@pytest.mark.parametrize(("snippet", "expected"), [
    ("  group_wait: soon\n",
     ["alerts.yaml:10: route.group_wait: expected a duration such as 5m, 2h or 7d, got 'soon'"]),
    ("  repeat_interval: 0s\n", ["alerts.yaml:10: route.repeat_interval: duration must be positive, got '0s'"]),
    ("  quiet_hours: {from: \"22h\", to: \"07:00\"}\n",
     ['alerts.yaml:10: route.quiet_hours.from: expected a time of day such as "22:00", got \'22h\'']),
    ("  quiet_hours: {from: \"22:00\", to: \"25:00\"}\n",
     ['alerts.yaml:10: route.quiet_hours.to: expected a time of day such as "22:00", got \'25:00\'']),
    ("  quiet_hours: {from: \"22:00\"}\n", ["alerts.yaml:10: route.quiet_hours: missing required key 'to'"]),
    ("  quiet_hours: {from: \"22:00\", to: \"22:00\"}\n",
     ["alerts.yaml:10: route.quiet_hours.to: quiet hours must not start and end at the same time"]),
    ("  quiet_hours: {from: \"22:00\", to: \"07:00\", timezone: Mars/Olympus}\n",
     ["alerts.yaml:10: route.quiet_hours.timezone: unknown time zone 'Mars/Olympus' "
      "(use an IANA name such as Europe/Paris)"]),
    ("  quiet_hours: {from: \"22:00\", to: \"07:00\", except: true}\n",
     ["alerts.yaml:10: route.quiet_hours.except: unknown key 'except'"]),
    ("inhibit:\n  - source: {severity: critical}\n    target: {brand: opel}\n    equal: [colour]\n",
     ['alerts.yaml:12: inhibit[0].target.brand: undefined brand "opel" used in inhibit rule',
      "alerts.yaml:13: inhibit[0].equal: unknown label 'colour' in equal (expected brand, team, severity, "
      "crisis_type, lang)"]),
    ("inhibit:\n  - source: {severity: critical}\n", ["alerts.yaml:11: inhibit[0]: an inhibit rule needs a "
                                                    "target matcher"]),
    ("inhibit: {source: x}\n", ["alerts.yaml:10: inhibit: expected a list of inhibit rules, got a mapping"]),
    ("notify:\n  overdue_after: never\n",
     ["alerts.yaml:11: notify.overdue_after: expected a duration such as 5m, 2h or 7d, got 'never'"]),
])
def test_route_option_errors_are_exact(snippet: str, expected: list[str]) -> None:
    assert errors_of(MINIMAL + snippet) == expected


def test_webhook_needs_an_http_url() -> None:
    text = MINIMAL.replace("    slack_channel: \"#desk\"\n", "    webhook: {url: \"ftp://x\"}\n")
    assert errors_of(text) == ["alerts.yaml:7: teams.desk.webhook.url: webhook url must start with https:// or "
                               "http://"]


def test_ops_names_a_team_and_defaults_to_log_only() -> None:
    assert parse_config(MINIMAL).ops is None
    config = parse_config(MINIMAL + "ops:\n  team: desk\n")
    assert config.ops is not None and config.ops.team == "desk"
    assert errors_of(MINIMAL + "ops:\n  team: ghost\n  channel: '#ops'\n") == [
        'alerts.yaml:11: ops.team: undefined team "ghost" used in ops',
        "alerts.yaml:12: ops.channel: unknown key 'channel'",
    ]
    assert errors_of(MINIMAL + "ops: desk\n") == ["alerts.yaml:10: ops: expected a mapping, got a string"]


def test_ops_thresholds_and_a_source_s_own_silence() -> None:
    config = parse_config(MINIMAL + "ops:\n  team: desk\n")
    assert config.ops is not None and (config.ops.fail_after, config.ops.silent_after) == (3, timedelta(hours=48))
    config = parse_config(MINIMAL + "ops:\n  team: desk\n  fail_after: 5\n  silent_after: off\n")
    assert config.ops is not None and (config.ops.fail_after, config.ops.silent_after) == (5, None)
    sources = ("sources:\n  feed:\n    type: rss\n    url: https://example.org/rss\n    silent_after: 7d\n"
               "  quiet:\n    type: rss\n    url: https://example.org/q\n    silent_after: off\n"
               "  usual:\n    type: rss\n    url: https://example.org/u\n")
    config = parse_config(MINIMAL + sources)
    assert [config.sources[n].silent_after for n in ("feed", "quiet", "usual")] == [timedelta(days=7), NEVER, None]
    config = parse_config(MINIMAL + "ops:\n  fail_after: 5\n")  # thresholds without a team: logged only
    assert config.ops is not None and (config.ops.team, config.ops.fail_after) == (None, 5)
    assert errors_of(MINIMAL + "ops:\n  team: desk\n  fail_after: 0\n  silent_after: 0s\n") == [
        "alerts.yaml:12: ops.fail_after: must be at least 1, got 0",
        "alerts.yaml:13: ops.silent_after: duration must be positive, got '0s' (or off)",
    ]


def test_a_store_url_crisiswatch_cannot_open_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    assert errors_of(MINIMAL + "store: mysql://db/crisis\n") == [
        "alerts.yaml:10: store: unsupported store URL 'mysql://db/crisis': use sqlite:///path.db, "
        "sqlite:///:memory:, redis://host:6379/0 or rediss://..."]
    monkeypatch.setenv("CRISISWATCH_STORE", "postgres://x")
    assert errors_of(MINIMAL) == [
        "environment: CRISISWATCH_STORE: unsupported store URL 'postgres://x': use sqlite:///path.db, "
        "sqlite:///:memory:, redis://host:6379/0 or rediss://..."]
    monkeypatch.setenv("CRISISWATCH_STORE", "rediss://:pw@redis.internal:6380/0")
    assert parse_config(MINIMAL).store == "rediss://:pw@redis.internal:6380/0"
    # The error never quotes a password (``crisiswatch check`` prints it).
    monkeypatch.setenv("CRISISWATCH_STORE", "valkey://:Hunter2Secret@cache.internal:6379/0")
    assert errors_of(MINIMAL) == [
        "environment: CRISISWATCH_STORE: unsupported store URL 'valkey://***@cache.internal:6379/0': use "
        "sqlite:///path.db, sqlite:///:memory:, redis://host:6379/0 or rediss://..."]


def test_a_missing_source_option_is_reported_at_the_source() -> None:
    text = MINIMAL + "sources:\n  feed:\n    type: rss\n  social:\n    type: mastodon\n    instance: https://x.social\n"
    assert errors_of(text) == [
        'alerts.yaml:12: sources.feed: missing option "url" required by source type "rss"',
        'alerts.yaml:14: sources.social: source type "mastodon" needs one of the options hashtags, query',
    ]


@pytest.mark.parametrize(("listen", "message"), [
    ("127.0.0.1:99999", "port 99999 out of range (0 to 65535) in '127.0.0.1:99999'"),
    ("127.0.0.1:65536", "port 65536 out of range (0 to 65535) in '127.0.0.1:65536'"),
    ("127.0.0.1", "expected host:port, e.g. 127.0.0.1:8080, got '127.0.0.1'"),
    ("localhost:http", "expected host:port, e.g. 127.0.0.1:8080, got 'localhost:http'"),
])
def test_a_listen_address_out_of_range_names_the_key(listen: str, message: str) -> None:
    assert errors_of(MINIMAL + f"http:\n  listen: {listen!r}\n") == [f"alerts.yaml:11: http.listen: {message}"]


@pytest.mark.parametrize("listen", ["127.0.0.1:0", "127.0.0.1:65535", "[::1]:8080", ":8080"])
def test_listen_addresses_in_range_are_kept(listen: str) -> None:
    assert parse_config(MINIMAL + f"http:\n  listen: {listen!r}\n").listen == listen


def test_check_refuses_an_sqlite_store_whose_folder_does_not_exist(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    missing = tmp_path / "no" / "such"
    text = MINIMAL + f"store: sqlite:///{missing}/state.db\n"
    with pytest.raises(ConfigErrors) as caught:
        parse_config(text, "alerts.yaml", check_store=True)
    assert [str(e) for e in caught.value.errors] == [
        f"alerts.yaml:10: store: SQLite store folder '{missing}' does not exist (create it, or point the store at "
        "an existing folder)"]
    assert not (tmp_path / "no").exists()  # check creates nothing
    # the same file is fine for what does not open the store (replay), and once the folder exists
    assert parse_config(text).store == f"sqlite:///{missing}/state.db"
    missing.mkdir(parents=True)
    assert parse_config(text, check_store=True).store == f"sqlite:///{missing}/state.db"
    for fine in ("sqlite:///:memory:", ":memory:", "redis://127.0.0.1:6379/6", "sqlite:///relative.db"):
        monkeypatch.setenv("CRISISWATCH_STORE", fine)
        assert parse_config(MINIMAL, check_store=True).store == fine
    monkeypatch.setenv("CRISISWATCH_STORE", f"sqlite:///{tmp_path}/gone/x.db")
    with pytest.raises(ConfigErrors) as caught:
        parse_config(MINIMAL, check_store=True)
    assert [str(e) for e in caught.value.errors] == [
        f"environment: CRISISWATCH_STORE: SQLite store folder '{tmp_path}/gone' does not exist (create it, or "
        "point the store at an existing folder)"]


def test_crisiswatch_check_reports_both_problems_and_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                             capsys: pytest.CaptureFixture[str]) -> None:
    from service.cli import main

    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    path = tmp_path / "alerts.yaml"
    path.write_text(MINIMAL + f"store: sqlite:///{tmp_path}/nodir/state.db\nhttp:\n  listen: 127.0.0.1:99999\n")
    assert main(["check", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [
        f"error: {path}:10: store: SQLite store folder '{tmp_path}/nodir' does not exist (create it, or point "
        "the store at an existing folder)",
        f"error: {path}:12: http.listen: port 99999 out of range (0 to 65535) in '127.0.0.1:99999'"]
    assert not (tmp_path / "nodir").exists()
