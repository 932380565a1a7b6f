"""``crisiswatch silence add | list | expire`` against the store named in alerts.yaml."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from service.cli import main
from service.store.base import MatchOp
from service.store.sqlite import SQLiteStore


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("CRISISWATCH_STORE", raising=False)
    monkeypatch.setenv("CRISISWATCH_USER", "alice")
    path = tmp_path / "alerts.yaml"
    path.write_text(f"version: 1\nstore: sqlite:///{tmp_path / 'state.db'}\nbrands:\n  toyota: {{query: toyota}}\n"
                    "teams:\n  desk: {slack_channel: '#desk'}\nroute:\n  team: desk\n")
    return path


def test_add_list_expire(config: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["silence", "add", "--config", str(config), "--match", "brand=toyota", "--match",
                 "severity=~warn.*|info", "--duration", "2h", "--comment", "recall handled by the cell"]) == 0
    silence_id = capsys.readouterr().out.strip()
    assert len(silence_id) == 12
    store = SQLiteStore(str(config.parent / "state.db"))
    [stored] = store.silences()
    store.close()
    assert stored.id == silence_id and stored.created_by == "alice" and stored.comment == "recall handled by the cell"
    assert stored.ends_at - stored.starts_at == timedelta(hours=2)
    assert [(m.label, m.op, m.value) for m in stored.matchers] == [
        ("brand", MatchOp.EQUAL, "toyota"), ("severity", MatchOp.REGEX, "warn.*|info")]

    assert main(["silence", "--config", str(config), "list"]) == 0
    table = capsys.readouterr().out
    assert silence_id in table and "active" in table and "brand=toyota, severity=~warn.*|info" in table
    assert main(["silence", "list", "--json", "--config", str(config)]) == 0
    [record] = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert record["id"] == silence_id and record["state"] == "active" and record["created_by"] == "alice"

    assert main(["silence", "expire", silence_id, "--config", str(config)]) == 0
    assert capsys.readouterr().out.startswith(f"expired {silence_id} (brand=toyota")
    assert main(["silence", "list", "--config", str(config)]) == 0
    assert capsys.readouterr().out.strip() == "no silences"
    assert main(["silence", "list", "--all", "--json", "--config", str(config)]) == 0
    assert json.loads(capsys.readouterr().out)["state"] == "expired"


@pytest.mark.parametrize(("args", "message"), [
    (["add", "--duration", "2h", "--comment", "x"], "error: a silence needs at least one --match, e.g. "
                                                    "--match brand=toyota"),
    (["add", "--match", "colour=red", "--duration", "2h", "--comment", "x"],
     "error: unknown label 'colour' in 'colour=red' (expected brand, team, severity, crisis_type, lang)"),
    (["add", "--match", "brand=x", "--duration", "soon", "--comment", "x"],
     "error: --duration: expected a duration such as 5m, 2h or 7d, got 'soon'"),
    (["add", "--match", "brand=x", "--duration", "2h", "--comment", " "],
     "error: --comment must say why (it is shown to whoever wonders where the alerts went)"),
    (["expire", "nope"], "error: no silence with id 'nope' (see crisiswatch silence list --all)"),
])
def test_usage_errors_exit_2(config: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str) -> None:
    assert main(["silence", "--config", str(config), *args]) == 2
    assert capsys.readouterr().err.strip() == message
