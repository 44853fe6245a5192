"""`entry-screening worker` processes for fault tests: started as the real command (Faust
and all), read through their metrics endpoint, killed with SIGKILL or stopped cleanly."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from pathlib import Path

from entry_screening.demo import metrics_text, start_worker, wait_until_ready
from streams.embedded import free_port
from streams.settings import Settings

# A worker is ready once it has imported Faust, mirrored the registry and joined its group:
# about 5 s here, and up to a session timeout (6 s) more after a SIGKILL, while the group
# waits for the dead member. 90 s lets a loaded CI machine through and still ends a worker
# that never becomes ready well inside a test's time limit.
READY_TIMEOUT_S = 90.0
# A clean stop leaves the group and closes the clients in a second or two.
STOP_TIMEOUT_S = 20.0


class Worker:
    """One worker process, with its own folder (log, data) and metrics port."""

    def __init__(self, settings: Settings, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = folder.name
        self.settings = settings.model_copy(update={"metrics_port": free_port()})
        self.process = start_worker(self.settings, folder)
        self.started_at = time.monotonic()

    @property
    def log(self) -> Path:
        return self.folder / "worker.log"

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def check_alive(self) -> None:
        """Fail the test, with the end of the worker's log, if the process has exited."""
        if not self.alive:
            raise AssertionError(
                f"worker {self.name} exited with status {self.process.returncode}\n{self.tail()}"
            )

    def tail(self, lines: int = 15, width: int = 600) -> str:
        """The end of the worker's log, long lines (tracebacks in JSON) cut short."""
        if not self.log.exists():
            return f"({self.log} not written)"
        text = self.log.read_text(errors="replace").splitlines()[-lines:]
        cut = [line if len(line) <= width else line[:width] + " [...]" for line in text]
        return f"--- {self.log} (last lines) ---\n" + "\n".join(cut)

    def metrics(self) -> dict[str, float]:
        """Every sample of the worker's /metrics, summed over labels, by metric name
        (empty while the endpoint is not up)."""
        values: dict[str, float] = {}
        for line in (metrics_text(self.settings.metrics_port) or "").splitlines():
            if not line or line.startswith("#"):
                continue
            name_and_labels, _, value = line.rpartition(" ")
            name = name_and_labels.split("{", 1)[0]
            values[name] = values.get(name, 0.0) + float(value)
        return values

    async def metric(self, name: str) -> float:
        """One metric (0 when absent), read without blocking the event loop."""
        return (await asyncio.to_thread(self.metrics)).get(name, 0.0)

    async def deciding(self) -> bool:
        """Whether this worker has committed decisions yet (fails the test if it died)."""
        self.check_alive()
        return await self.metric("screening_decisions_total") > 0

    async def ready(self) -> float:
        """Seconds from the start until the worker mirrored the registry and owns partitions."""
        try:
            await wait_until_ready(self.settings.metrics_port, self.process, READY_TIMEOUT_S)
        except RuntimeError as error:
            raise AssertionError(f"worker {self.name}: {error}\n{self.tail()}") from None
        return time.monotonic() - self.started_at

    def kill(self) -> None:
        """SIGKILL to the worker's process group: no shutdown, no commit, no goodbye."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        """SIGTERM (Faust's clean shutdown: leave the group, close the clients), then
        SIGKILL past STOP_TIMEOUT_S."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerPool:
    """The workers of one test, so that teardown can stop whichever still run."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.started: list[Worker] = []

    def start(self, settings: Settings) -> Worker:
        worker = Worker(settings, self.root / f"worker-{len(self.started) + 1}")
        self.started.append(worker)
        return worker

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()
