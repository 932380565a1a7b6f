"""alerts.yaml -> a frozen, typed :class:`Config`.

Parsing is strict: unknown keys, wrong types, bad durations and references to undefined brands,
teams or sources are errors that name the file, the line and the key, and every problem in the
file is reported at once. ``${NAME}`` / ``${NAME:-default}`` read secrets from the environment;
secret values are :class:`~service.yamlread.Secret` and never print.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from service.detect.sensitivity import PRESETS, TUNABLE
from service.domain import Severity, SourceKind
from service.enrich.query import Query, QueryError, compile_query
from service.logs import safe_url
from service.yamlread import (
    ConfigError,
    ConfigErrors,
    Located,
    LocatedList,
    Secret,
    interpolate,
    load_yaml_text,
    parse_duration,
)

__all__ = [
    "BrandConfig", "Config", "ConfigError", "ConfigErrors", "DetectionConfig", "InhibitRule", "NotifyConfig",
    "QuietHours", "RouteConfig", "RouteOptions", "SlackConfig", "SourceConfig", "TeamConfig", "WebhookConfig",
    "load_config", "parse_config",
]

DEFAULT_STORE = "sqlite:///crisiswatch.db"
MATCH_LABELS = ("brand", "team", "severity", "crisis_type", "lang")


@dataclass(frozen=True, kw_only=True)
class DetectionConfig:
    """Detection settings of one brand (defaults from the ``detection:`` section)."""

    bucket: timedelta = timedelta(minutes=5)
    window: timedelta = timedelta(minutes=30)
    grace: timedelta = timedelta(days=3)
    keep_firing_for: timedelta = timedelta(hours=3)
    timezone: str = "UTC"
    """IANA zone whose local clock the seasonal baseline follows (daily rhythm across daylight saving)."""
    sensitivity: str = "balanced"
    volume_threshold: float = PRESETS["balanced"]["volume_threshold"]
    min_volume: int = int(PRESETS["balanced"]["min_volume"])
    negativity_z: float = PRESETS["balanced"]["negativity_z"]
    critical_resemblance: float = PRESETS["balanced"]["critical_resemblance"]
    warning_resemblance: float = PRESETS["balanced"]["warning_resemblance"]
    overrides: tuple[str, ...] = ()
    """Names of the settings written explicitly (the rest come from the preset)."""


@dataclass(frozen=True, kw_only=True)
class BrandConfig:
    name: str
    query: Query | None
    team: str | None = None
    own: bool = False
    detection: DetectionConfig = field(default_factory=DetectionConfig)


@dataclass(frozen=True, kw_only=True)
class SourceConfig:
    name: str
    type: str
    kind: SourceKind
    interval: timedelta
    timeout: timedelta
    brands: tuple[str, ...] = ()
    lang: str | None = None
    enabled: bool = True
    silent_after: timedelta | None = None
    """This source's own silence threshold (``silent_after: 7d``, or ``off``: :data:`NEVER`);
    ``None``: the ``ops`` one. Sources that publish rarely (a regulator's recalls of one make) need a
    longer one."""
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class WebhookConfig:
    """A generic JSON webhook receiver: ``url`` and the HMAC-SHA256 signing ``secret``."""

    url: Secret
    secret: Secret | None = None


@dataclass(frozen=True, kw_only=True)
class TeamConfig:
    name: str
    slack_channel: str | None = None
    mention: str | None = None
    webhook: WebhookConfig | None = None
    """Generic JSON webhook (``teams.<name>.webhook: {url, secret}``)."""


@dataclass(frozen=True, kw_only=True)
class QuietHours:
    """Local times ``start`` to ``end`` (wrapping midnight when ``end <= start``) in ``timezone``
    during which non-critical deliveries wait for the end of the quiet period."""

    start: time
    end: time
    timezone: str = "UTC"
    except_critical: bool = True


@dataclass(frozen=True, kw_only=True)
class RouteOptions:
    """Alertmanager-like timing of a route, inherited by its children unless they set their own.

    ``group_wait``: delay before an incident's first notification (later events of the same incident
    arriving meanwhile are delivered right after it); ``group_interval``: at least this long between two
    routine updates of one incident to one team (intermediate updates are coalesced into the latest);
    ``repeat_interval``: a reminder when an open incident has said nothing for this long (``None``: never).
    """

    group_wait: timedelta = timedelta(0)
    group_interval: timedelta = timedelta(0)
    repeat_interval: timedelta | None = None
    quiet_hours: QuietHours | None = None


@dataclass(frozen=True, kw_only=True)
class RouteConfig:
    """One node of the routing tree; children are tried in order, the first match wins unless
    it says ``continue: true``; when no child matches, this node's team receives the alert."""

    team: str
    match: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    min_severity: Severity = Severity.INFO
    continue_: bool = False
    routes: tuple[RouteConfig, ...] = ()
    options: RouteOptions = field(default_factory=RouteOptions)


@dataclass(frozen=True, kw_only=True)
class InhibitRule:
    """While an open incident matches ``source``, alerts of other incidents matching ``target``
    whose ``equal`` labels have the same values are muted (a critical crisis mutes the warnings it
    subsumes)."""

    source: Mapping[str, tuple[str, ...]]
    target: Mapping[str, tuple[str, ...]]
    equal: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class NotifyConfig:
    overdue_after: timedelta = timedelta(minutes=15)
    """An alert still undelivered after this long is logged as an error and counted."""


@dataclass(frozen=True, kw_only=True)
class OpsConfig:
    """Operational alerts about sources: when they are raised, and where they go (``ops: {team: NAME}``:
    the team's Slack channel and webhook). Without a team (or an ``ops`` key) they are only logged."""

    team: str | None = None
    fail_after: int = 3
    """Failed runs in a row after which a source is reported failing."""
    silent_after: timedelta | None = timedelta(hours=48)
    """Time without a mention after which a source that answers is reported silent (``None``: never;
    a source's own ``silent_after`` overrides it)."""


@dataclass(frozen=True, kw_only=True)
class SlackConfig:
    bot_token: Secret | None = None
    webhook_url: Secret | None = None
    api_url: str | None = None


@dataclass(frozen=True, kw_only=True)
class Config:
    path: str
    store: str
    listen: str
    dashboard_url: str | None
    ingest_token: Secret | None
    detection: DetectionConfig
    brands: Mapping[str, BrandConfig]
    sources: Mapping[str, SourceConfig]
    teams: Mapping[str, TeamConfig]
    route: RouteConfig
    slack: SlackConfig
    inhibit: tuple[InhibitRule, ...] = ()
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    ops: OpsConfig | None = None
    """Operational alerts' receiver; ``None``: logged only."""

    def brand(self, name: str) -> BrandConfig:
        """Settings of ``name``; a brand alerts.yaml does not configure gets the defaults."""
        found = self.brands.get(name)
        return found if found is not None else BrandConfig(name=name, query=None, detection=self.detection)


# ---------------------------------------------------------------------------------------------
class _Reader:
    """Reads one YAML mapping against a schema, collecting located errors."""

    def __init__(self, data: Any, path: str, file: str, errors: list[ConfigError], line: int = 0) -> None:
        self.file, self.path, self.errors = file, path, errors
        if data is None:
            data = Located()
            data.line, data.lines = line, {}
        if not isinstance(data, Located):
            self.error(f"expected a mapping, got {_kind(data)}", line=getattr(data, "line", line))
            data = Located()
            data.line, data.lines = line, {}
        self.data: Located = data
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def error(self, message: str, *, name: str | None = None, line: int | None = None) -> None:
        where = self.data.line_of(name) if name is not None and line is None else line
        key = self.key(name) if name is not None else self.path
        self.errors.append(ConfigError(message, file=self.file, line=where or None, key=key))

    def get(self, name: str, convert: Callable[[Any], Any], default: Any = None, *, required: bool = False) -> Any:
        self.used.add(name)
        if name not in self.data:
            if required:
                self.error(f"missing required key {name!r}", line=self.data.line)
            return default
        try:
            return convert(self.data[name])
        except (ValueError, TypeError, QueryError) as exc:
            self.error(str(exc), name=name)
            return default

    def child(self, name: str) -> _Reader:
        self.used.add(name)
        return _Reader(self.data.get(name), self.key(name), self.file, self.errors, self.data.line_of(name))

    def finish(self) -> None:
        for name in self.data:
            if name not in self.used:
                self.error(f"unknown key {name!r}", name=name)


def _kind(value: Any) -> str:
    return {dict: "a mapping", Located: "a mapping", list: "a list", LocatedList: "a list", str: "a string",
            bool: "a boolean", int: "an integer", float: "a number"}.get(type(value), type(value).__name__)


def _string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {_kind(value)}")
    return interpolate(value)


def _optional_string(value: Any) -> str | None:
    text = _string(value) if value is not None else ""
    return text or None


def _secret(value: Any) -> Secret | None:
    text = _optional_string(value)
    return Secret(text) if text else None


def _sqlite_path(url: str) -> str | None:
    """The file of a ``sqlite:///`` store URL (``None`` for other stores and in-memory ones)."""
    if url == ":memory:" or not url.lower().startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    return None if path in ("", ":memory:") else path


def _store_url(value: Any) -> str:
    """A store URL whose scheme crisiswatch opens (checked here, so that ``check`` reports it)."""
    url = _string(value)
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if url != ":memory:" and scheme not in ("sqlite", "redis", "rediss"):
        raise ValueError(f"unsupported store URL {safe_url(url)!r}: use sqlite:///path.db, sqlite:///:memory:, "
                         "redis://host:6379/0 or rediss://...")
    return url


def _store_url_on_disk(value: Any) -> str:
    """:func:`_store_url`, and for SQLite a file whose folder exists (``check``: the store opens where it
    runs; nothing is created)."""
    url = _store_url(value)
    path = _sqlite_path(url)
    if path is not None:
        folder = Path(path).parent
        if not folder.is_dir():
            raise ValueError(f"SQLite store folder {str(folder)!r} does not exist (create it, or point the store "
                             "at an existing folder)")
    return url


def _listen(value: Any) -> str:
    """``host:port`` with a port from 0 to 65535 (``[::1]:8080`` for IPv6, ``:8080``: every interface)."""
    text = _string(value)
    _, sep, port = text.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"expected host:port, e.g. 127.0.0.1:8080, got {text!r}")
    if not 0 <= int(port) <= 65535:
        raise ValueError(f"port {port} out of range (0 to 65535) in {text!r}")
    return text


def _duration(value: Any) -> timedelta:
    result = parse_duration(value)
    if result <= timedelta(0):
        raise ValueError(f"duration must be positive, got {value!r}")
    return result


def _bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {_kind(value)}")
    return value


def _number(low: float, high: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise TypeError(f"expected a number, got {_kind(value)}")
        if not low <= value <= high:
            raise ValueError(f"must be between {low:g} and {high:g}, got {value!r}")
        return float(value)
    return convert


def _int(low: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"expected an integer, got {_kind(value)}")
        if value < low:
            raise ValueError(f"must be at least {low}, got {value}")
        return value
    return convert


def _choice(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"expected one of {', '.join(options)}, got {value!r}")
        return str(value)
    return convert


def _strings(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise TypeError(f"expected a string or a list of strings, got {_kind(value)}")
    return tuple(value)


def _query(value: Any) -> Query:
    return compile_query(_string(value))


def _detection(reader: _Reader, base: DetectionConfig) -> DetectionConfig:
    sensitivity = reader.get("sensitivity", _choice(tuple(PRESETS)), None)
    values: dict[str, Any] = {}
    if sensitivity is not None:
        preset = {k: v for k, v in PRESETS[sensitivity].items() if k not in base.overrides}
        values = {"sensitivity": sensitivity, **preset}
    explicit: list[str] = list(base.overrides)
    for name, convert in (("bucket", _duration), ("window", _duration), ("grace", _duration),
                          ("keep_firing_for", _duration), ("timezone", _timezone)):
        value = reader.get(name, convert)
        if value is not None:
            values[name] = value
    for name in TUNABLE:
        convert = _int(1) if name == "min_volume" else _number(0.0, 100.0 if name == "negativity_z" else 1.0)
        value = reader.get(name, convert)
        if value is not None:
            values[name] = value
            explicit.append(name)
    reader.finish()
    result = replace(base, **values, overrides=tuple(dict.fromkeys(explicit)))
    written = "window" if "window" in reader.data else "bucket" if "bucket" in reader.data else None
    if written is not None and result.window < result.bucket:
        reader.error("window must be at least one bucket", name=written)
    elif written is not None and result.window % result.bucket:
        reader.error("window must be a whole number of buckets", name=written)
    return result


def _match(reader: _Reader, teams: Mapping[str, TeamConfig],
           brands: Mapping[str, BrandConfig], where: str = "route") -> dict[str, tuple[str, ...]]:
    match: dict[str, tuple[str, ...]] = {}
    for label in MATCH_LABELS:
        values = reader.get(label, _strings)
        if values:
            match[label] = values
    known = {"brand": brands, "team": teams}
    for label, defined in known.items():
        for value in match.get(label, ()):
            if value not in defined:
                reader.error(f'undefined {label} "{value}" used in {where}', name=label)
    for severity in match.get("severity", ()):
        if severity not in tuple(Severity):
            reader.error(f"unknown severity {severity!r} (info, warning, critical)", name="severity")
    reader.finish()
    return match


def _route(reader: _Reader, inherited_team: str | None, teams: Mapping[str, TeamConfig],
           brands: Mapping[str, BrandConfig], inherited: RouteOptions | None = None) -> RouteConfig:
    team = reader.get("team", _string, inherited_team, required=inherited_team is None)
    options = _route_options(reader, inherited or RouteOptions())
    if "team" in reader.data and team is not None and team not in teams:
        reader.error(f'undefined team "{team}" used in route', name="team")
    match = _match(reader.child("match"), teams, brands)
    min_severity = Severity(reader.get("min_severity", _choice(tuple(Severity)), "info"))
    continue_ = reader.get("continue", _bool, False)
    children: list[RouteConfig] = []
    raw_routes = reader.get("routes", lambda v: v, None)
    if raw_routes is not None:
        if not isinstance(raw_routes, LocatedList):
            reader.error(f"expected a list of routes, got {_kind(raw_routes)}", name="routes")
        else:
            for index, item in enumerate(raw_routes):
                child = _Reader(item, f"{reader.key('routes')}[{index}]", reader.file, reader.errors,
                                raw_routes.line_of(index))
                children.append(_route(child, team, teams, brands, options))
    reader.finish()
    return RouteConfig(team=team or "", match=match, min_severity=min_severity, continue_=continue_,
                       routes=tuple(children), options=options)


def _non_negative_duration(value: Any) -> timedelta:
    result = parse_duration(value)
    if result < timedelta(0):
        raise ValueError(f"duration must not be negative, got {value!r}")
    return result


def _route_options(reader: _Reader, inherited: RouteOptions) -> RouteOptions:
    """The options written on this route over the ``inherited`` ones (a new object: the parent's
    options are never changed). ``quiet_hours: false`` turns inherited quiet hours off."""
    values: dict[str, Any] = {}
    for name, convert in (("group_wait", _non_negative_duration), ("group_interval", _non_negative_duration),
                          ("repeat_interval", _duration)):
        value = reader.get(name, convert)
        if value is not None:
            values[name] = value
    if "quiet_hours" in reader.data:
        raw = reader.data["quiet_hours"]
        if raw is False:
            reader.used.add("quiet_hours")
            values["quiet_hours"] = None
        else:
            quiet = _quiet_hours(reader.child("quiet_hours"))
            if quiet is not None:
                values["quiet_hours"] = quiet
    return replace(inherited, **values)


def _clock_time(value: Any) -> time:
    text = value if isinstance(value, str) else ""
    try:
        hours, minutes = (int(part) for part in text.split(":"))
        if len(text.split(":")[1]) != 2:
            raise ValueError
        return time(hours, minutes)
    except ValueError:
        raise ValueError(f'expected a time of day such as "22:00", got {value!r}') from None


def _timezone(value: Any) -> str:
    name = _string(value)
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as Europe/Paris)") from None
    return name


def _quiet_hours(reader: _Reader) -> QuietHours | None:
    start = reader.get("from", _clock_time, required=True)
    end = reader.get("to", _clock_time, required=True)
    zone = reader.get("timezone", _timezone, "UTC")
    except_critical = reader.get("except_critical", _bool, True)
    reader.finish()
    if start is None or end is None or zone is None:
        return None
    if start == end:
        reader.error("quiet hours must not start and end at the same time", name="to")
        return None
    return QuietHours(start=start, end=end, timezone=zone, except_critical=except_critical)


MATCH_LABELS_TEXT = ", ".join(MATCH_LABELS)


def _inhibit(reader_root: _Reader, teams: Mapping[str, TeamConfig],
             brands: Mapping[str, BrandConfig]) -> tuple[InhibitRule, ...]:
    reader_root.used.add("inhibit")
    raw = reader_root.data.get("inhibit")
    if raw is None:
        return ()
    if not isinstance(raw, LocatedList):
        reader_root.error(f"expected a list of inhibit rules, got {_kind(raw)}", name="inhibit")
        return ()
    rules = []
    for index, item in enumerate(raw):
        rule = _Reader(item, f"inhibit[{index}]", reader_root.file, reader_root.errors, raw.line_of(index))
        source = _match(rule.child("source"), teams, brands, "inhibit rule")
        target = _match(rule.child("target"), teams, brands, "inhibit rule")
        equal = rule.get("equal", _strings, ())
        for label in equal:
            if label not in MATCH_LABELS:
                rule.error(f"unknown label {label!r} in equal (expected {MATCH_LABELS_TEXT})", name="equal")
        if not source:
            rule.error("an inhibit rule needs a source matcher", line=rule.data.line)
        if not target:
            rule.error("an inhibit rule needs a target matcher", line=rule.data.line)
        rule.finish()
        rules.append(InhibitRule(source=source, target=target, equal=equal))
    return tuple(rules)


def _version(value: Any) -> int:
    if value != 1 or isinstance(value, bool):
        raise ValueError(f"unsupported version {value!r}: this crisiswatch reads version 1")
    return 1


def parse_config(text: str, file: str = "alerts.yaml", *, check_store: bool = False) -> Config:
    """Parse alerts.yaml text; raise :class:`ConfigErrors` listing every problem. ``check_store``: also
    refuse an SQLite store whose folder does not exist (``crisiswatch check``, run where the service
    runs; a replay does not open the configured store, so it does not need it)."""
    errors: list[ConfigError] = []
    try:
        document = load_yaml_text(text, file)
    except ConfigError as exc:
        raise ConfigErrors([exc]) from None
    root = _Reader(document, "", file, errors, 1)
    root.get("version", _version, 1)
    store_url = _store_url_on_disk if check_store else _store_url
    configured_store = root.get("store", store_url, DEFAULT_STORE)
    store = os.environ.get("CRISISWATCH_STORE") or configured_store
    if store != configured_store:
        try:
            store_url(store)
        except ValueError as exc:
            errors.append(ConfigError(str(exc), file="environment", key="CRISISWATCH_STORE"))
    http = root.child("http")
    listen = http.get("listen", _listen, "127.0.0.1:8080")
    dashboard_url = http.get("dashboard_url", _optional_string)
    http.finish()
    ingest = root.child("ingest")
    ingest_token = ingest.get("token", _secret)
    ingest.finish()
    slack_reader = root.child("slack")
    slack = SlackConfig(bot_token=slack_reader.get("bot_token", _secret),
                        webhook_url=slack_reader.get("webhook_url", _secret),
                        api_url=slack_reader.get("api_url", _optional_string))
    slack_reader.finish()
    detection = _detection(root.child("detection"), DetectionConfig())

    teams: dict[str, TeamConfig] = {}
    teams_reader = root.child("teams")
    for name in teams_reader.data:
        team = teams_reader.child(name)
        teams[name] = TeamConfig(name=name, slack_channel=team.get("slack_channel", _optional_string),
                                 mention=team.get("mention", _optional_string),
                                 webhook=_webhook(team) if "webhook" in team.data else None)
        team.finish()

    brands: dict[str, BrandConfig] = {}
    brands_reader = root.child("brands")
    for name in brands_reader.data:
        brand = brands_reader.child(name)
        query = brand.get("query", _query, required=True)
        team_name = brand.get("team", _string)
        if team_name is not None and team_name not in teams:
            brand.error(f'undefined team "{team_name}" used in brand', name="team")
        brands[name] = BrandConfig(name=name, query=query, team=team_name, own=brand.get("own", _bool, False),
                                   detection=_detection(brand.child("detection"), detection))
        brand.finish()

    sources = _sources(root.child("sources"), brands)
    route = _route(root.child("route"), None, teams, brands)
    inhibit = _inhibit(root, teams, brands)
    notify_reader = root.child("notify")
    notify = NotifyConfig(overdue_after=notify_reader.get("overdue_after", _duration, NotifyConfig().overdue_after))
    notify_reader.finish()
    ops = _ops(root.child("ops"), teams) if "ops" in root.data else None
    root.finish()
    if errors:
        raise ConfigErrors(sorted(errors, key=lambda e: (e.line or 0, e.key)))
    return Config(path=file, store=store, listen=listen, dashboard_url=dashboard_url, ingest_token=ingest_token,
                  detection=detection, brands=brands, sources=sources, teams=teams, route=route, slack=slack,
                  inhibit=inhibit, notify=notify, ops=ops)


def _ops(reader: _Reader, teams: Mapping[str, TeamConfig]) -> OpsConfig | None:
    team = reader.get("team", _string)
    fail_after = reader.get("fail_after", _int(1), OpsConfig.fail_after)
    silent_after = reader.get("silent_after", _silence, OpsConfig.silent_after)
    reader.finish()
    if team is not None and team not in teams:
        reader.error(f'undefined team "{team}" used in ops', name="team")
        return None
    return OpsConfig(team=team, fail_after=fail_after, silent_after=None if silent_after == NEVER else silent_after)


NEVER = timedelta.max
"""``silent_after: off``: a source that is never reported silent."""


def _silence(value: Any) -> timedelta:
    """A silence threshold: a positive duration, or ``off`` (:data:`NEVER`; YAML reads a bare ``off``
    as false)."""
    if value is False or value == "off":
        return NEVER
    try:
        return _duration(value)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{exc} (or off)") from None


def _webhook(team: _Reader) -> WebhookConfig | None:
    reader = team.child("webhook")
    url = reader.get("url", _secret, required=True)
    secret = reader.get("secret", _secret)
    reader.finish()
    if url is not None and not url.reveal().startswith(("https://", "http://")):
        reader.error("webhook url must start with https:// or http://", name="url")
        return None
    return WebhookConfig(url=url, secret=secret) if url is not None else None


def _sources(reader: _Reader, brands: Mapping[str, BrandConfig]) -> dict[str, SourceConfig]:
    from service.collect.registry import check_options  # collectors register their own options

    common = ("type", "kind", "interval", "timeout", "brands", "lang", "enabled", "silent_after")
    sources: dict[str, SourceConfig] = {}
    for name in reader.data:
        source = reader.child(name)
        kind = source.get("kind", lambda v: SourceKind(_choice(tuple(SourceKind))(v)), SourceKind.NEWS)
        type_ = source.get("type", _string, "", required=True)
        interval = source.get("interval", _duration, timedelta(minutes=10))
        timeout = source.get("timeout", _duration, timedelta(seconds=20))
        source_brands = source.get("brands", _strings, ())
        for brand in source_brands:
            if brand not in brands:
                source.error(f'undefined brand "{brand}" used in source', name="brands")
        lang = source.get("lang", _optional_string)
        enabled = source.get("enabled", _bool, True)
        silent_after = source.get("silent_after", _silence)
        options: dict[str, Any] = {}
        for key, value in source.data.items():
            if key in common:
                continue
            source.used.add(key)
            try:
                options[key] = interpolate(value) if isinstance(value, str) else value
            except ValueError as exc:
                source.error(str(exc), name=key)
        if type_:
            for key, message in check_options(type_, options):
                if key in source.data:
                    source.error(message, name=key)
                else:  # a missing option, or one that concerns several: the source's own line
                    source.error(message, line=source.data.line)
        sources[name] = SourceConfig(name=name, type=type_, kind=kind, interval=interval, timeout=timeout,
                                     brands=source_brands, lang=lang, enabled=enabled, silent_after=silent_after,
                                     options=options)
        source.finish()
    return sources


def load_config(path: str | Path, *, check_store: bool = False) -> Config:
    """Read and parse a configuration file (see :func:`parse_config`)."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigErrors([ConfigError(f"cannot read: {exc.strerror}", file=file)]) from None
    except UnicodeDecodeError:
        raise ConfigErrors([ConfigError("not UTF-8 text", file=file)]) from None
    return parse_config(text, file, check_store=check_store)
