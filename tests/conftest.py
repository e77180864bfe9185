"""Shared fixtures: a real Mosquitto broker per test, on a free loopback port.

Integration tests never use a broker that happens to run on the machine (port 1883): each gets its own
process, which the test may kill and start again on the same port to exercise reconnection. Without a
``mosquitto`` executable the tests that need one are skipped with the install line (the Makefile installs
it with ``apt-get install -y mosquitto``).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

BROKER_START_TIMEOUT_S = 10.0


def _mosquitto_executable() -> str | None:
    found = shutil.which("mosquitto")
    if found:
        return found
    for candidate in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto"):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class Broker:
    """One Mosquitto process on 127.0.0.1:port; ``kill`` and ``start`` keep the port."""

    def __init__(self, executable: str, folder: Path) -> None:
        self.executable = executable
        self.port = free_port()
        self.config_path = folder / "mosquitto.conf"
        self.log_path = folder / "mosquitto.log"
        # No persistence: a restart loses sessions and retained messages, like a crashed broker would.
        self.config_path.write_text(
            f"listener {self.port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
            "set_tcp_nodelay true\nlog_dest stderr\n"
        )
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        assert self.process is None, "broker already running"
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [self.executable, "-c", str(self.config_path)], stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        deadline = time.monotonic() + BROKER_START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        self.stop()
        pytest.fail(f"mosquitto did not listen on port {self.port}:\n{self.log_path.read_text()}")

    def kill(self) -> None:
        """SIGKILL, as a crash: no goodbye to the clients."""
        if self.process is not None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=5)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
            self.process = None


@pytest.fixture
def mosquitto(tmp_path: Path) -> Iterator[Broker]:
    executable = _mosquitto_executable()
    if executable is None:
        if os.environ.get("CI"):  # make test installs it; on CI a skip would hide the integration tests
            pytest.fail("mosquitto is not installed: apt-get install -y mosquitto")
        pytest.skip("mosquitto is not installed: apt-get install -y mosquitto")
    broker = Broker(executable, tmp_path)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def _wait_until(condition: Callable[[], object], *, timeout_s: float = 5.0, interval_s: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return bool(condition())
        time.sleep(interval_s)


WaitUntil = Callable[..., bool]


@pytest.fixture
def wait_until() -> WaitUntil:
    """``wait_until(condition, timeout_s=5.0)``: poll until true or the timeout; returns the last value,
    for asserts that fail with the state they waited for."""
    return _wait_until
