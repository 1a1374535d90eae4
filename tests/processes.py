"""The services as real processes (their console scripts), for e2e and fault tests."""

import asyncio
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from tests.support import BOOTSTRAP, NO_API, free_port

BIN = Path(sys.executable).parent
LOG_DIR = Path(__file__).resolve().parent.parent / ".local" / "test-logs"


class Service:
    """One service process; `restart()` keeps its port, name and environment."""

    def __init__(self, script: str, env: dict[str, str], name: str | None = None,
                 argv: list[str] | None = None) -> None:
        self.script = script
        self.argv = argv or [str(BIN / script)]
        self.port = free_port()
        self.name = name or f"{script}-{self.port}"
        self.env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": BOOTSTRAP, "PORT": str(self.port),
                    "HOST": "127.0.0.1", "API_URL": NO_API, **env}
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        self.log_path = LOG_DIR / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "Service":
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - closed in stop()/kill()
        self.proc = subprocess.Popen(self.argv, env=self.env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def wait_ready(self, timeout: float = 60) -> None:
        """For synchronous tests only; an async test awaits `ready()`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._assert_running()
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise AssertionError(f"{self.name} not ready in {timeout}s: {self.log_tail()}")

    # Async tests call these: waiting on a process must not block their event loop, where
    # producers and consumers keep running during the fault the test causes.
    async def ready(self, timeout: float = 60) -> "Service":
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2) as client:
            while time.monotonic() < deadline:
                self._assert_running()
                try:
                    if (await client.get(f"{self.url}/readyz")).status_code == 200:
                        return self
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)
        raise AssertionError(f"{self.name} not ready in {timeout}s: {self.log_tail()}")

    async def terminate(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait (see `stop`), off the event loop."""
        return await asyncio.to_thread(self.stop, timeout)

    async def crash(self) -> None:
        """SIGKILL (see `kill`), off the event loop."""
        await asyncio.to_thread(self.kill)

    def _assert_running(self) -> None:
        assert self.proc is not None, f"{self.name} was never started"
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.name} exited: {self.log_tail()}")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, like a crash or an OOM kill."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
        self._close_log()

    def stop(self, timeout: float = 30) -> int | None:
        """SIGTERM and wait: the graceful stop."""
        code = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                code = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                raise AssertionError(f"{self.name} ignored SIGTERM for {timeout}s") from None
        self._close_log()
        return code

    def restart(self) -> "Service":
        self.kill()
        return self.start()

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def _close_log(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
