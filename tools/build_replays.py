"""Build the replay scenario library under tests/fixtures/replays from /work/shared/datasets.

    python tools/build_replays.py            # every scenario, then the index README
    python tools/build_replays.py --only toyota_recall_2010 --only quiet_weeks

Deterministic: each scenario draws from its own seeded generator and the gzip stream carries no
time stamp, so a rebuild rewrites identical bytes. Tests never read /work/shared: the generated
folders are committed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from replays.catalog import SCENARIOS, builder
from replays.index import write_index
from replays.writer import write

ROOT = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "replays"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", choices=sorted(SCENARIOS), help="build only this scenario")
    parser.add_argument("--out", type=Path, default=ROOT, help="library folder (default: %(default)s)")
    args = parser.parse_args(argv)
    for name in args.only or list(SCENARIOS):
        row = write(builder(name)(), args.out)
        print(f"{row['name']:32} {row['kind']:8} {row['mentions']:6d} mentions {row['kib']:5d} KiB")
    write_index(args.out, list(SCENARIOS))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
