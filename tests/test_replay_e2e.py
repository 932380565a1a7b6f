"""End to end: the replay fixtures through the real pipeline (CLI included), and the recall replay
sent to Slack through the real slack-sdk and a local fake Slack Web API."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from service.cli import main
from tests.fakeslack import TOKEN, FakeSlack, fake_slack_fixture  # noqa: F401  (fixture)

REPLAYS = Path(__file__).parent / "fixtures" / "replays"
ROOT = Path(__file__).resolve().parents[1]
CONFIG = str(ROOT / "alerts.yaml")


def replay_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[dict]]:
    status = main(["replay", *args, "--config", CONFIG, "--json"])
    out = capsys.readouterr().out
    return status, [json.loads(line) for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def recall_events() -> list[dict]:
    """One replay of the recall, shared by the assertions below (it takes a few seconds)."""
    import contextlib
    import io

    buffer = io.StringIO()
    with contextlib.redirect_stdout(buffer):
        status = main(["replay", str(REPLAYS / "toyota_recall_2010" / "mentions.jsonl.gz"), "--config", CONFIG,
                       "--json", "--expect", str(REPLAYS / "toyota_recall_2010" / "expect.yaml")])
    assert status == 0, "the recall replay must meet its expect file"
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_recall_raises_a_critical_product_recall_alert_for_toyota(recall_events: list[dict]) -> None:
    critical = [e for e in recall_events if e["severity"] == "critical" and e["brand"] == "toyota"]
    assert critical, "no critical alert for the recalled brand"
    first = min(critical, key=lambda e: e["at"])
    assert first["crisis_type"] == "product_recall"
    assert "2010-01-21T19:00:00+00:00" <= first["at"] <= "2010-01-21T21:00:00+00:00"  # within 2 h of the recall
    assert first["resemblance"] >= 0.55 and first["negative_share"] > 0.3 and first["volume"] >= 15
    for key in ("at", "brand", "incident_id", "state", "severity", "crisis_type", "resemblance", "volume",
                "negative_share", "summary"):
        assert key in first
    states = {e["state"] for e in recall_events if e["incident_id"] == first["incident_id"]}
    assert "resolved" in states  # the incident calms down after the pedal recall wave
    assert not [e for e in recall_events if e["brand"] == "renault"]


def test_viral_campaign_is_not_critical(capsys: pytest.CaptureFixture[str]) -> None:
    folder = REPLAYS / "viral_roadmovie_campaign"
    status, events = replay_json(capsys, str(folder / "mentions.jsonl.gz"), "--expect", str(folder / "expect.yaml"))
    assert status == 0
    assert not [e for e in events if e["severity"] == "critical"]
    # The model reads some campaign talk as negative; the campaign vocabulary still gives the type.
    campaign = [e for e in events if e["brand"] == "peugeot" and e["at"] >= "2019-04-29T08:00:00+00:00"]
    assert campaign and {e["crisis_type"] for e in campaign} == {"viral_campaign"}


def test_quiet_weeks_raise_no_alert_at_all(capsys: pytest.CaptureFixture[str]) -> None:
    status, events = replay_json(capsys, str(REPLAYS / "quiet_weeks" / "mentions.jsonl.gz"))
    assert status == 0
    assert events == []


def test_unmet_expectations_exit_1_and_are_listed(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    expect = tmp_path / "expect.yaml"
    expect.write_text("expect:\n  - brand: peugeot\n    severity: critical\nforbid:\n  - severity: info\n")
    source = REPLAYS / "quiet_weeks" / "mentions.jsonl.gz"
    short = tmp_path / "short.jsonl"
    short.write_text("\n".join(gzip.decompress(source.read_bytes()).decode().splitlines()[:1500]) + "\n")
    status = main(["replay", str(short), "--config", CONFIG, "--expect", str(expect)])
    err = capsys.readouterr().err
    assert status == 1
    assert f"unmet: {expect}:2: expected an alert (brand=peugeot, severity>=critical), none matched" in err


def test_malformed_lines_are_reported_and_skipped(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = REPLAYS / "quiet_weeks" / "mentions.jsonl.gz"
    lines = gzip.decompress(source.read_bytes()).decode().splitlines()[:2000]
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join([lines[0], "{oops", *lines[1:], '{"id": "x"}']) + "\n")
    status = main(["replay", str(broken), "--config", CONFIG])
    captured = capsys.readouterr()
    assert status == 0
    assert f"{broken}:2: invalid JSON" in captured.err
    assert f"{broken}:{len(lines) + 2}: text: required string" in captured.err
    assert f"{len(lines)} mentions replayed" in captured.out


def test_unpaired_surrogates_never_stop_a_replay(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A ``\\udc00`` escape in an id skips that line; in the text it becomes U+FFFD and the mention counts
    (neither may crash the store's write, as a surrogate did)."""
    source = REPLAYS / "quiet_weeks" / "mentions.jsonl.gz"
    lines = gzip.decompress(source.read_bytes()).decode().splitlines()[:300]
    first, second = json.loads(lines[0]), json.loads(lines[1])
    bad_id = json.dumps({**first, "id": "PLACEHOLDER"}).replace("PLACEHOLDER", "x\\udc00")
    cut_text = json.dumps({**second, "id": "cut", "text": "PLACEHOLDER"}).replace("PLACEHOLDER", "recall \\ud83d")
    broken = tmp_path / "surrogates.jsonl"
    broken.write_text("\n".join([bad_id, cut_text, *lines[2:]]) + "\n")
    status = main(["replay", str(broken), "--config", CONFIG])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert f"{broken}:1: id: holds an unpaired UTF-16 surrogate (\\udc00): not valid Unicode" in captured.err
    assert f"{len(lines) - 1} mentions replayed" in captured.out


def test_missing_input_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "/nonexistent.jsonl", "--config", CONFIG]) == 2
    assert capsys.readouterr().err.strip() == "error: /nonexistent.jsonl: no such file"


HOSTILE = [
    "<!channel> Toyota is a disgrace, terrible and dangerous, my brakes failed <@U024BE7LH> *urgent* "
    "<https://evil.example|click here>",
    "Toyota accelerator stuck again!!! awful, horrible `rm -rf` > everyone <!here> this is dangerous, recall now",
]


def test_recall_replay_posts_block_kit_to_slack(tmp_path: Path, fake_slack: FakeSlack,
                                                 monkeypatch: pytest.MonkeyPatch,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    source = REPLAYS / "toyota_recall_2010" / "mentions.jsonl.gz"
    records = [json.loads(line) for line in gzip.decompress(source.read_bytes()).decode().splitlines()]
    cut = [r for r in records if r["published_at"] < "2010-01-23T00:00:00Z"]
    for index, text in enumerate(HOSTILE):
        for copy in range(3):
            cut.append({"id": f"hostile-{index}-{copy}", "published_at": f"2010-01-21T19:{10 + copy:02d}:00Z",
                        "text": text, "kind": "social", "source": "twitter", "lang": "en",
                        "url": "https://twitter.com/x/status/1"})
    path = tmp_path / "recall.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in cut) + "\n")
    monkeypatch.setenv("SLACK_BOT_TOKEN", TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.delenv("SLACK_WEBHOOK_URL", raising=False)
    status = main(["replay", str(path), "--config", CONFIG, "--slack", "--json"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert status == 0 and events
    intel = fake_slack.channel_id("#veille-concurrence")
    messages = fake_slack.top_level(intel)
    assert len(messages) == len({e["incident_id"] for e in events if e["severity"] in ("warning", "critical")})
    first = messages[0]
    rendered = json.dumps(first.blocks)
    assert "toyota" in rendered.lower() and "critical" in rendered.lower()
    assert "mentions" in rendered and "%" in rendered  # volume and negative share figures
    every_call = json.dumps([call.body for call in fake_slack.calls])
    assert "<!channel>" not in every_call and "<!here>" not in every_call and "<@U024BE7LH>" not in every_call
    assert "<https://evil.example|click here>" not in every_call
    assert "&lt;!channel&gt;" in every_call or "&lt;!here&gt;" in every_call  # shown, inert
    serious = [e for e in events if e["severity"] in ("warning", "critical")]
    first_incident = [e for e in serious if e["incident_id"] == serious[0]["incident_id"]]
    replies = [m.text or "" for m in fake_slack.thread(intel, first.ts)]
    reminders = [r for r in replies if "still ongoing" in r]  # repeat_interval of the route
    assert len(replies) - len(reminders) == len(first_incident) - 1  # each later event is a thread reply
    assert "resolved" in replies[-1]
    assert first.edits >= len(first_incident) - 1  # ... and an update of the first message
