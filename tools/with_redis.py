"""Run a command with a Redis server for the tests: the one answering on 127.0.0.1:6379 if any,
else a private ``redis-server`` started on a free port and stopped afterwards.

The command sees ``CRISISWATCH_TEST_REDIS_URL`` (unless already set). Exit status is the command's.
Usage: python tools/with_redis.py COMMAND [ARG...]
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def main(argv: list[str]) -> int:
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    env = dict(os.environ)
    if "CRISISWATCH_TEST_REDIS_URL" in env or answers("127.0.0.1", 6379):
        env.setdefault("CRISISWATCH_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
        return subprocess.call(argv, env=env)
    binary = shutil.which("redis-server")
    if binary is None:
        print("error: no Redis answers on 127.0.0.1:6379 and redis-server is not installed;"
              " install it with: sudo apt-get install redis-server", file=sys.stderr)
        return 2
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="crisiswatch-redis-") as workdir:
        server = subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", workdir, "--daemonize", "no", "--logfile", os.path.join(workdir, "redis.log")],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 10
            while not answers("127.0.0.1", port):
                if server.poll() is not None or time.monotonic() > deadline:
                    print(f"error: private redis-server did not start (see {workdir}/redis.log)", file=sys.stderr)
                    return 2
                time.sleep(0.05)
            print(f"started a private redis-server on 127.0.0.1:{port} for the tests", file=sys.stderr)
            env["CRISISWATCH_TEST_REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
            return subprocess.call(argv, env=env)
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
