"""Sensitivity presets: the documented numbers are the numbers used, a brand overrides any of them
in alerts.yaml, and ``crisiswatch check`` prints the effective values and where they come from."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import service.detect.sensitivity
from service.cli import main
from service.config import DetectionConfig, parse_config
from service.detect.sensitivity import PRESETS, TUNABLE

ROOT = Path(__file__).resolve().parents[1]
CONFIG = """\
version: 1
detection:
  sensitivity: fewer
brands:
  peugeot:
    query: peugeot
    detection: {sensitivity: more, min_volume: 5}
  renault:
    query: renault
teams:
  desk:
    slack_channel: "#desk"
route:
  team: desk
"""


def _table(text: str) -> dict[str, dict[str, float]]:
    """``setting -> {preset: number}`` from a Markdown table whose columns are fewer | balanced | more."""
    rows: dict[str, dict[str, float]] = {}
    for line in text.splitlines():
        cells = [c.strip().strip("`") for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0] in TUNABLE:
            rows[cells[0]] = dict(zip(("fewer", "balanced", "more"), map(float, cells[1:4]), strict=True))
    return rows


def _presets() -> dict[str, dict[str, float]]:
    return {name: {preset: float(PRESETS[preset][name]) for preset in PRESETS} for name in TUNABLE}


def test_presets_are_ordered_from_fewer_to_more_alerts() -> None:
    fewer, balanced, more = (PRESETS[p] for p in ("fewer", "balanced", "more"))
    for name in TUNABLE:  # every threshold is lower (more alerts) from fewer to more
        assert fewer[name] > balanced[name] > more[name], name
    assert DetectionConfig().sensitivity == "balanced"
    assert {name: getattr(DetectionConfig(), name) for name in TUNABLE} == dict(balanced)


def test_the_module_documents_the_numbers_it_uses() -> None:
    assert _table(service.detect.sensitivity.__doc__ or "") == _presets()


def test_the_readme_documents_the_numbers_used() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert _table(readme) == _presets()


def test_a_brand_overrides_its_preset_number_by_number() -> None:
    config = parse_config(CONFIG, "alerts.yaml")
    peugeot, renault = config.brands["peugeot"].detection, config.brands["renault"].detection
    assert peugeot.sensitivity == "more" and peugeot.min_volume == 5 and peugeot.overrides == ("min_volume",)
    assert {n: getattr(peugeot, n) for n in TUNABLE if n != "min_volume"} == {
        n: v for n, v in PRESETS["more"].items() if n != "min_volume"}
    assert renault.sensitivity == "fewer" and {n: getattr(renault, n) for n in TUNABLE} == dict(PRESETS["fewer"])


def test_check_explains_the_effective_values(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "alerts.yaml"
    path.write_text(CONFIG, encoding="utf-8")
    assert main(["check", "--config", str(path)]) == 0
    out = capsys.readouterr().out
    assert "(* = set explicitly, the rest from the sensitivity preset)" in out
    lines = {m[1]: m[2] for m in re.finditer(r"^  (\S+): (.*)$", out, re.MULTILINE)}
    assert lines["peugeot"] == ("sensitivity=more bucket=5m window=30m grace=3d keep_firing_for=3h timezone=UTC "
                                "volume_threshold=0.97 min_volume=5* negativity_z=2.5 critical_resemblance=0.45 "
                                "warning_resemblance=0.25")
    assert lines["renault"] == ("sensitivity=fewer bucket=5m window=30m grace=3d keep_firing_for=3h timezone=UTC "
                                "volume_threshold=0.995 min_volume=30 negativity_z=4 critical_resemblance=0.65 "
                                "warning_resemblance=0.4")
