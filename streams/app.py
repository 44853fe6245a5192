"""The composition root: the one Faust application, ``app``, and what a worker runs.

``entry-screening worker`` and ``faust -A streams.app worker`` start the same thing: a
Faust worker whose services are the compacted-topic mirrors (registry, brokers, entity
lists, rule pack), the batched screening loop and the metrics endpoint. Settings come from
``SCREENING_*`` variables when the module is imported; nothing connects until the worker
starts.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from typing import Any, NoReturn

import faust
from mode import Service
from prometheus_client import start_http_server

from entry_screening.runtime import settle_heap
from screening.native import NATIVE
from screening.rulepack import load_rule_pack
from streams import fetch_records
from streams.lifecycle import install_lifecycle
from streams.logs import logging_config
from streams.metrics import PipelineMetrics
from streams.mirror import MemoryStore, TopicMirror, make_store
from streams.pipeline import ScreeningLoop
from streams.settings import Settings
from streams.state import ReferenceView, RegistryView, RulePackSource

log = logging.getLogger(__name__)

try:
    from importlib.metadata import version as _version

    VERSION = _version("entry-screening")
except Exception:  # pragma: no cover - running from a source tree without metadata
    VERSION = "0+unknown"


class WorkerRuntime:
    """Everything one worker process runs besides Faust's own machinery."""

    def __init__(self, settings: Settings, metrics: PipelineMetrics | None = None) -> None:
        self.settings = settings
        self.metrics = metrics or PipelineMetrics()
        self.worker_id = f"{socket.gethostname()}-{os.getpid()}"
        topics = settings.topics
        self.registry_mirror = TopicMirror(
            settings, topics.ior_registry, make_store(settings, "registry")
        )
        self.brokers_mirror = TopicMirror(settings, topics.reference_brokers, MemoryStore())
        self.watchlist_mirror = TopicMirror(settings, topics.reference_watchlist, MemoryStore())
        self.packs_mirror = TopicMirror(settings, topics.reference_rulepacks, MemoryStore())
        self.mirrors = (
            self.registry_mirror,
            self.brokers_mirror,
            self.watchlist_mirror,
            self.packs_mirror,
        )
        self.loop: ScreeningLoop | None = None
        # Set once the mirrors have recovered and the screening loop runs; the lifecycle
        # agents wait for it before they vet anything.
        self.ready = asyncio.Event()
        self.metrics_port: int | None = None
        self._metrics_server: Any = None

    async def start(self) -> None:
        settings = self.settings
        # Which screening core decides (the native one, or Python's when it is not installed
        # or ENTRY_SCREENING_CORE=python): the same decisions, at different costs.
        core = "native" if NATIVE is not None else "python"
        self.metrics.build_info.info({"version": VERSION, "worker": self.worker_id, "core": core})
        log.info("screening core", extra={"core": core})
        self._serve_metrics()
        # Every consumer of this process (the mirrors' restore, then the screening loop)
        # reads plain fetched batches natively (streams.fetch_records); switched off, the
        # reader is aiokafka's even if something in this process installed the native one.
        native_fetch = settings.native_fetch and fetch_records.install()
        if not settings.native_fetch:
            fetch_records.uninstall()
        log.info("fetched records", extra={"reader": "native" if native_fetch else "aiokafka"})
        started = time.monotonic()
        for mirror in self.mirrors:
            await mirror.start()
        await asyncio.gather(*(m.recovered.wait() for m in self.mirrors))
        self.metrics.registry_recovered.set(1)
        # The registry and the code stay for the process's life: out of the collector's way.
        settle_heap()
        log.info(
            "state recovered",
            extra={
                "iors": len(self.registry_mirror),
                "seconds": round(time.monotonic() - started, 3),
            },
        )
        packs = RulePackSource(
            load_rule_pack(settings.rule_pack_path), self.packs_mirror, settings.rule_pack_path
        )
        self.loop = ScreeningLoop(
            settings,
            RegistryView(self.registry_mirror),
            ReferenceView(self.brokers_mirror, self.watchlist_mirror),
            packs,
            self.metrics,
            worker_id=self.worker_id,
        )
        await self.loop.start()
        self.ready.set()

    def _serve_metrics(self) -> None:
        if self.settings.metrics_port < 0:
            return
        server, _ = start_http_server(
            self.settings.metrics_port,
            addr=self.settings.metrics_host,
            registry=self.metrics.registry,
        )
        self._metrics_server = server
        self.metrics_port = server.server_port
        log.info(
            "metrics served",
            extra={"url": f"http://{self.settings.metrics_host}:{self.metrics_port}/metrics"},
        )

    async def run(self) -> None:
        assert self.loop is not None
        refresher = asyncio.create_task(self._refresh_gauges())
        try:
            await self.loop.run()
        finally:
            refresher.cancel()

    async def _refresh_gauges(self) -> None:
        while True:
            newest = self.registry_mirror.last_record_ms
            if newest is not None:
                self.metrics.registry_age.set(max(time.time() - newest / 1000, 0))
            self.metrics.registry_iors.set(len(self.registry_mirror))
            await asyncio.sleep(5)

    async def stop(self) -> None:
        if self.loop is not None:
            await self.loop.stop()
        for mirror in self.mirrors:
            await mirror.stop()
        if self._metrics_server is not None:
            self._metrics_server.shutdown()
            self._metrics_server.server_close()


def exit_worker(why: str) -> NoReturn:
    """End the process with a failure status so that a supervisor restarts it.

    A Faust worker whose service fails keeps running (it logs that it waits for its
    tasks), which a supervisor would never notice; nothing is lost by leaving at once:
    uncommitted input is screened again by the next owner."""
    log.exception("%s; exiting so that the worker is restarted", why)
    logging.shutdown()
    os._exit(70)  # EX_SOFTWARE


def faust_broker_url(settings: Settings) -> str:
    return ";".join(f"kafka://{host.strip()}" for host in settings.kafka_bootstrap.split(","))


def create_app(settings: Settings) -> faust.App:
    # Faust creates its data directory itself, but not the parents of it.
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    credentials = None
    if settings.security_protocol.startswith("SASL"):
        credentials = faust.SASLCredentials(
            username=settings.sasl_username,
            password=settings.sasl_password.get_secret_value() if settings.sasl_password else None,
            mechanism=settings.sasl_mechanism,
        )
    app = faust.App(
        f"{settings.consumer_group}-faust",
        broker=faust_broker_url(settings),
        broker_credentials=credentials,
        store="memory://",
        web_enabled=False,
        autodiscover=False,
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        producer_acks=-1,
        # Faust's defaults made a group join take 30 s on the embedded broker; the session
        # timeout setting bounds it (see Settings.session_timeout_ms).
        broker_session_timeout=settings.session_timeout_ms / 1000,
        broker_heartbeat_interval=settings.heartbeat_interval_ms / 1000,
        broker_rebalance_timeout=max(settings.session_timeout_ms / 1000, 10.0),
        datadir=str(settings.data_dir / "faust"),
        logging_config=logging_config(settings.log_level),
    )
    runtime = WorkerRuntime(settings)
    app.runtime = runtime  # type: ignore[attr-defined]

    class ScreeningService(Service):
        """Starts the mirrors and the screening loop once Faust is up; stops them with it."""

        async def on_start(self) -> None:
            try:
                await runtime.start()
            except Exception:
                exit_worker("the worker could not start")

        @Service.task
        async def _screen(self) -> None:
            try:
                await runtime.run()
            except Exception:
                exit_worker("the screening loop failed")

        async def on_stop(self) -> None:
            await runtime.stop()

    app.service(ScreeningService)
    install_lifecycle(app, settings, runtime)
    return app


app = create_app(Settings())
