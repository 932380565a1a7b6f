"""numpy's BLAS runs one thread in crisiswatch processes (a second one only spins on small matrices),
unless the environment says otherwise."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

PROBE = ("import service, numpy, scipy.sparse, json; from threadpoolctl import threadpool_info; "
         "print(json.dumps(sorted({i['internal_api']: i['num_threads'] for i in threadpool_info()}.items())))")


def _threads(**env: str) -> dict[str, int]:
    clean = {k: v for k, v in os.environ.items() if k not in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                               "MKL_NUM_THREADS")}
    out = subprocess.run([sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, text=True,
                         check=True, timeout=60).stdout
    return dict(json.loads(out))


def test_blas_runs_one_thread_by_default() -> None:
    threads = _threads()
    assert threads.get("openblas") == 1, threads


@pytest.mark.skipif((os.cpu_count() or 1) < 2, reason="OpenBLAS caps its threads at the cores")
def test_an_explicit_setting_wins() -> None:
    assert _threads(OPENBLAS_NUM_THREADS="2").get("openblas") == 2
