"""tests/fixtures/replays/README.md: the index of the library, read back from each scenario.yaml."""

from __future__ import annotations

from pathlib import Path

import yaml

HEADER = """# Replay scenario library

Recorded (or reconstructed) incidents replayed by `crisiswatch replay` and `crisiswatch bench incidents`.
Each folder holds `mentions.jsonl.gz` (mention records per the DESIGN.md contract, sorted by
`published_at`, unique ids, no `brand` field: the brand queries of alerts.yaml attribute them),
`expect.yaml` (expected and forbidden alerts), `scenario.yaml` (labels: kind, type, onset, fast onset,
data origin) and a `README.md` stating what is real and what is reconstructed, and the licence of the
texts. Built by `python tools/build_replays.py [--only NAME]` from /work/shared/datasets; do not edit
the files by hand.

Data origin (of the incident's mentions): **real** = real time stamps and real texts; **mixed** = real
time stamps, sentiment or texts from a shared dataset, adapted and completed (see the folder README);
**reconstructed** = timeline documented in the press (or, when said so, a fictional but typical
timeline), volumes and texts written for this project. In every scenario the quiet baseline mixes real
tweets about someone's car (brand substituted) with templates.

| scenario | kind | type | brand | langs | fast onset | data | onset (UTC) | mentions |
|---|---|---|---|---|---|---|---|---|
"""

FOOTER = """
Licences differ per scenario (see each README): templates are the project's own; real tweet texts
keep Twitter/X terms; the airline-based scenario is CC BY-NC-SA 4.0 (non-commercial: evaluation and
replay only); CrisisLex-based scenarios cite Olteanu, Vieweg & Castillo (CSCW 2015).
"""


def write_index(root: Path, order: list[str]) -> None:
    rows = []
    for name in order:
        meta_path = root / name / "scenario.yaml"
        if not meta_path.exists():
            continue
        meta = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
        onset = meta["onset"] or "-"
        rows.append(f"| [`{name}`]({name}/README.md) | {meta['kind']} | {meta['crisis_type']} | {meta['brand']} | "
                    f"{'/'.join(meta['langs'])} | {'yes' if meta['fast_onset'] else 'no'} | {meta['data']} | "
                    f"{onset} | {meta['mentions']} |")
    (root / "README.md").write_text(HEADER + "\n".join(rows) + "\n" + FOOTER, encoding="utf-8")
