"""Real Apache Kafka (KRaft mode) on loopback, without Docker: for tests and developers.

The broker comes from Maven Central as jars (``deploy/kafka/pom.xml``), resolved once into a
cache folder outside git, and runs on the machine's Java 17. Every node is a combined
broker+controller; a cluster has 1 node or 3 (a real quorum and replication factor 3).

Python API (tests)::

    with KafkaCluster(brokers=3) as cluster:
        use(cluster.bootstrap)
        cluster.stop_node(1)  # or kill_node(1): SIGKILL
        cluster.start_node(1)  # same ports, same log dir

Command line (developers, CI)::

    python -m tools.kraft jars                    # resolve the jars only
    python -m tools.kraft up [--brokers 1|3] [--dir DIR]   # last stdout line: the bootstrap
    python -m tools.kraft down [--dir DIR]

Standard library only, so the harness works before anything else is installed; the readiness
check speaks the one Kafka request it needs (Metadata) itself.
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import json
import os
import re
import secrets
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent
POM = REPO / "deploy" / "kafka" / "pom.xml"
DEFAULT_CLI_DIR = REPO / "var" / "kafka"
STATE_FILE = "cluster.json"
HOST = "127.0.0.1"

# Measured on a 2-core machine: one node is ready ~4 s after launch, three nodes (three JVMs
# warming up on two cores, then a controller election) ~10-15 s; a busy CI machine can take
# several times that. 90 s lets a slow start pass and still fails a broken one (a node that
# never registers) well inside CI's time budget.
START_TIMEOUT_S = 90.0
# A broker's controlled shutdown normally takes a few seconds. When a whole cluster stops at
# once the last nodes may wait for a quorum that has gone; past this bound they are killed
# (the data of a cluster being torn down no longer matters).
STOP_TIMEOUT_S = 20.0
# Resolving the ~45 jars took ~10 s from an empty ~/.m2 and ~2 s from a warm one; ten minutes
# covers a slow registry without letting a hung Maven block CI for its whole run.
RESOLVE_TIMEOUT_S = 600.0
POLL_INTERVAL_S = 0.5

# Small heaps: up to three brokers share a small machine with the tests.
JVM_OPTIONS = ["-Xms256m", "-Xmx512m", "-XX:+ExitOnOutOfMemoryError", "-Djava.awt.headless=true"]


class KafkaHarnessError(RuntimeError):
    """The jars could not be resolved, or a node did not start or stop as it should."""


# --- jars ------------------------------------------------------------------------------------


def kafka_version() -> str:
    """The Kafka version the POM resolves: the POM is the one place it is written."""
    match = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", POM.read_text())
    if match is None:
        raise KafkaHarnessError(f"no <kafka.version> property in {POM}")
    return match.group(1).strip()


def jars_dir() -> Path:
    """Where the broker's jars live: ``$SCREENING_KAFKA_JARS``, else a per-version cache dir."""
    override = os.environ.get("SCREENING_KAFKA_JARS")
    if override:
        return Path(override).expanduser().resolve()
    return REPO / ".cache" / "kafka" / kafka_version() / "libs"


def _has_broker_jar(folder: Path) -> bool:
    return folder.is_dir() and any(folder.glob("kafka_2.13-*.jar"))


def resolve_jars(dest: Path | None = None) -> Path:
    """Make sure ``dest`` (default :func:`jars_dir`) holds every jar the broker needs.

    Maven copies into a temporary sibling folder that is renamed into place only when it
    succeeded, so an interrupted first run is never mistaken for a complete one.
    """
    dest = dest or jars_dir()
    if _has_broker_jar(dest):
        return dest
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaHarnessError("Maven (mvn) is not on PATH: it is needed once to fetch Kafka")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}-", dir=dest.parent))
    print(f"resolving Apache Kafka jars with Maven into {dest} ...", file=sys.stderr)
    command = [mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies"]
    command.append(f"-DoutputDirectory={staging}")
    try:
        try:
            result = subprocess.run(  # noqa: S603 - Maven from PATH, fixed arguments
                command,
                capture_output=True,
                text=True,
                timeout=RESOLVE_TIMEOUT_S,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise KafkaHarnessError(f"Maven took over {RESOLVE_TIMEOUT_S:.0f} s") from error
        if result.returncode != 0 or not _has_broker_jar(staging):
            output = (result.stdout + result.stderr).strip().splitlines()
            raise KafkaHarnessError(
                "Maven could not resolve the Kafka jars:\n" + "\n".join(output[-40:])
            )
        if dest.exists() and not any(dest.iterdir()):
            dest.rmdir()  # an empty folder named by SCREENING_KAFKA_JARS: fill it
        try:
            staging.rename(dest)
        except OSError:
            # Another process resolved the same jars meanwhile: theirs are as good.
            if not _has_broker_jar(dest):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return dest


# --- small helpers ---------------------------------------------------------------------------


def _java() -> str:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    java = shutil.which("java")
    if java is None:
        raise KafkaHarnessError("java is not on PATH (Kafka 4 brokers need Java 17 or newer)")
    return java


def _free_ports(count: int) -> list[int]:
    """Ports the OS reports free on loopback. All sockets stay open until every port is
    chosen, so one call never returns the same port twice."""
    with contextlib.ExitStack() as stack:
        ports = []
        for _ in range(count):
            sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind((HOST, 0))
            ports.append(sock.getsockname()[1])
        return ports


def _kafka_uuid() -> str:
    """A random id in Kafka's text form (16 bytes, URL-safe base64, no padding), as used for
    the cluster id and the metadata directory ids. Kafka avoids a leading '-' (it reads as
    a command-line option), and so does this."""
    while True:
        text = base64.urlsafe_b64encode(secrets.token_bytes(16)).decode().rstrip("=")
        if not text.startswith("-"):
            return text


def _tail(path: Path, lines: int = 40) -> str:
    """The last lines of a log file, for error messages."""
    if not path.exists():
        return f"  ({path.name}: not written)"
    with path.open("rb") as f:
        f.seek(0, os.SEEK_END)
        f.seek(max(0, f.tell() - 64 * 1024))
        text = f.read().decode("utf-8", errors="replace")
    body = "\n".join("  " + line for line in text.splitlines()[-lines:])
    return f"  --- {path} (last lines) ---\n{body or '  (empty)'}"


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(size - len(chunks))
        if not chunk:
            raise ConnectionError("broker closed the connection")
        chunks += chunk
    return bytes(chunks)


def broker_ids(port: int, timeout: float = 2.0) -> set[int]:
    """The ids of the brokers that the broker on ``port`` knows as alive (registered and
    unfenced), asked with a Metadata v1 request for no topics.

    v1 is the oldest version that can ask for "no topics", has a fixed (non-flexible)
    layout, and Kafka 4 still serves it; it keeps this check free of any client library.
    """
    client_id = b"kraft-harness"
    # Header: api_key 3 (Metadata), api_version 1, correlation_id, client_id.
    # Body: the topics array, empty (in v1+ empty means none, null would mean all).
    request = struct.pack(">hhih", 3, 1, 1, len(client_id)) + client_id + struct.pack(">i", 0)
    with socket.create_connection((HOST, port), timeout=timeout) as sock:
        sock.sendall(struct.pack(">i", len(request)) + request)
        (size,) = struct.unpack(">i", _recv_exact(sock, 4))
        response = _recv_exact(sock, size)
    # Response: correlation_id, then brokers: [node_id, host, port, rack (nullable)].
    (count,) = struct.unpack_from(">i", response, 4)
    offset = 8
    ids = set()
    for _ in range(count):
        node_id, host_length = struct.unpack_from(">ih", response, offset)
        offset += 4 + 2 + host_length + 4  # node_id, host, port
        (rack_length,) = struct.unpack_from(">h", response, offset)
        offset += 2 + max(rack_length, 0)  # -1 is a null rack
        ids.add(node_id)
    return ids


# --- nodes -----------------------------------------------------------------------------------


@dataclass
class _Node:
    """One combined broker+controller: its ports, its folder and its process."""

    node_id: int
    port: int
    controller_port: int
    dir: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def config(self) -> Path:
        return self.dir / "server.properties"

    @property
    def log4j(self) -> Path:
        return self.dir / "log4j2.properties"

    @property
    def tools_log4j(self) -> Path:
        return self.dir / "tools-log4j2.properties"

    @property
    def server_log(self) -> Path:
        return self.dir / "server.log"

    @property
    def console_log(self) -> Path:
        # stdout/stderr of the JVM: what happens before log4j is up (bad flags, crashes).
        return self.dir / "console.log"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def logs(self) -> str:
        return f"{_tail(self.server_log)}\n{_tail(self.console_log, lines=15)}"


def _server_properties(node: _Node, nodes: list[_Node]) -> str:
    brokers = len(nodes)
    replication = min(brokers, 3)
    # With 3 replicas, acks=all must survive one node down: 2 in sync. With 1, 1 is all.
    min_isr = 2 if brokers == 3 else 1
    controllers = ",".join(f"{HOST}:{n.controller_port}" for n in nodes)
    settings = {
        "process.roles": "broker,controller",
        "node.id": node.node_id,
        # Kafka 4's dynamic quorum (KIP-853): nodes find the controllers here; the initial
        # voter set is written into the storage by `StorageTool format --initial-controllers`.
        "controller.quorum.bootstrap.servers": controllers,
        "listeners": f"PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port}",
        # With a dynamic quorum the voters' endpoints are recorded in the metadata log from
        # what each controller advertises, so the CONTROLLER listener is advertised too.
        "advertised.listeners": (
            f"PLAINTEXT://{HOST}:{node.port},CONTROLLER://{HOST}:{node.controller_port}"
        ),
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "log.dirs": node.dir / "data",
        "offsets.topic.replication.factor": replication,
        "transaction.state.log.replication.factor": replication,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": replication,
        "share.coordinator.state.topic.min.isr": min_isr,
        "min.insync.replicas": min_isr,
        # Topics created without a replication factor get one replica per node.
        "default.replication.factor": brokers,
        # Tests join groups all the time: do not wait 3 s for more members first.
        "group.initial.rebalance.delay.ms": 0,
        # Topics come from `entry-screening topics create` or the tests, never from a typo.
        "auto.create.topics.enable": "false",
        # A restarted node cannot register again until the controller lets the session of its
        # previous run expire (9 s by default, even after a clean shutdown); a killed node is
        # fenced only then too. Fault tests restart nodes all the time: 4 s, with a heartbeat
        # every second so a busy machine still gets three heartbeats into one session.
        "broker.heartbeat.interval.ms": 1000,
        "broker.session.timeout.ms": 4000,
        # The log cleaner reserves 128 MiB by default; compacted topics here are tiny.
        "log.cleaner.dedupe.buffer.size": 16 * 1024 * 1024,
    }
    lines = ["# Written by tools/kraft.py when the cluster is formatted."]
    lines += [f"{key}={value}" for key, value in settings.items()]
    return "\n".join(lines) + "\n"


def _log4j2_properties(log_file: Path | None) -> str:
    """log4j2 settings in its properties syntax (Kafka 4 logs through log4j2 only).

    A node logs INFO to ``log_file``; the storage tool (``None``) logs warnings only, to its
    output, which the harness reads.
    """
    if log_file is None:
        appender = ["appender.main.type = Console", "appender.main.target = SYSTEM_ERR"]
        level = "WARN"
    else:
        appender = ["appender.main.type = File", f"appender.main.fileName = {log_file}"]
        level = "INFO"
    lines = [
        "# Written by tools/kraft.py.",
        "status = warn",
        *appender,
        "appender.main.name = main",
        "appender.main.layout.type = PatternLayout",
        "appender.main.layout.pattern = [%d] %p %m (%c)%n",
        f"rootLogger.level = {level}",
        "rootLogger.appenderRef.main.ref = main",
        # The full config dump (hundreds of lines per start) and the per-request and
        # state-change chatter would push the lines that explain a failure out of the tail.
        "logger.config.name = org.apache.kafka.common.config.AbstractConfig",
        "logger.config.level = WARN",
        "logger.request.name = kafka.request.logger",
        "logger.request.level = WARN",
        "logger.state.name = state.change.logger",
        "logger.state.level = WARN",
    ]
    return "\n".join(lines) + "\n"


def _java_command(libs: Path, log4j: Path, main: str, *args: str) -> list[str]:
    # Java expands 'libs/*' on the classpath itself; no shell is involved.
    return [
        _java(),
        *JVM_OPTIONS,
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        str(libs / "*"),
        main,
        *args,
    ]


def _pid_is_node(pid: int, config: Path) -> bool:
    """Whether ``pid`` is still the broker started with ``config`` (not a reused pid)."""
    if Path("/proc/self").exists():
        try:
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        except OSError:
            return False  # gone
        return b"kafka.Kafka" in args and str(config).encode() in args
    try:  # no /proc (macOS): trust the pid
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


# --- the cluster -----------------------------------------------------------------------------


class KafkaCluster:
    """N combined KRaft nodes (N = 1 or 3) on free loopback ports, under one work dir.

    ``stop()`` ends every node and removes the work dir unless ``keep``. ``detach`` starts
    the nodes in their own session so they outlive this process (the command line's ``up``);
    otherwise they are stopped at interpreter exit if the caller forgot to.
    """

    def __init__(
        self,
        brokers: int = 1,
        work_dir: Path | str | None = None,
        *,
        keep: bool = False,
        detach: bool = False,
        jars: Path | None = None,
    ) -> None:
        if brokers not in (1, 3):
            raise ValueError(f"brokers must be 1 or 3, not {brokers}")
        self.brokers = brokers
        # The default is only named here and made by start(), so an unstarted cluster
        # leaves nothing behind.
        self.work_dir = (
            Path(work_dir).resolve()
            if work_dir is not None
            else Path(tempfile.gettempdir()) / f"kraft-{secrets.token_hex(4)}"
        )
        self.keep = keep
        self.detach = detach
        self._jars = jars
        self._libs: Path | None = None
        self._nodes: list[_Node] = []
        self.cluster_id = ""

    # -- public API --

    @property
    def bootstrap(self) -> str:
        """``host:port`` of every broker, comma-separated."""
        return ",".join(f"{HOST}:{node.port}" for node in self._nodes)

    @property
    def pids(self) -> list[int | None]:
        return [node.process.pid if node.running and node.process else None for node in self._nodes]

    def node_dir(self, index: int) -> Path:
        """The folder of node ``index``: its config, its data and its ``server.log``."""
        return self._nodes[index].dir

    def start(self) -> KafkaCluster:
        """Resolve the jars, format every node's storage, start the nodes and wait until
        each one reports all of them as alive brokers."""
        if self._nodes:
            raise KafkaHarnessError("this cluster was already started")
        self._libs = resolve_jars(self._jars)
        self.work_dir.mkdir(parents=True, exist_ok=True)
        ports = _free_ports(2 * self.brokers)
        self._nodes = [
            _Node(i, ports[2 * i], ports[2 * i + 1], self.work_dir / f"node-{i}")
            for i in range(self.brokers)
        ]
        self.cluster_id = _kafka_uuid()
        if not self.detach:
            atexit.register(self.stop)
        try:
            self._format()
            for node in self._nodes:
                self._launch(node)
            self._write_state()
            self._wait_ready(self._nodes)
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """End every node (SIGTERM, then SIGKILL past a bound) and remove the work dir unless
        ``keep``. Safe to call twice."""
        atexit.unregister(self.stop)
        running = [node for node in self._nodes if node.running]
        for node in running:
            assert node.process is not None
            node.process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for node in running:
            self._reap(node, deadline)
        if self._nodes:
            self._write_state()
        if not self.keep:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def stop_node(self, index: int) -> None:
        """Stop one node cleanly (SIGTERM: controlled shutdown); its log dir stays."""
        node = self._nodes[index]
        if node.running:
            assert node.process is not None
            node.process.terminate()
            self._reap(node, time.monotonic() + STOP_TIMEOUT_S)
        self._write_state()

    def kill_node(self, index: int) -> None:
        """Kill one node (SIGKILL: a crash, no controlled shutdown); its log dir stays."""
        node = self._nodes[index]
        if node.running:
            assert node.process is not None
            node.process.kill()
            node.process.wait()
        self._write_state()

    def start_node(self, index: int) -> None:
        """Start a stopped or killed node again, on its ports and with its data, and wait
        until it sees every running node as an alive broker."""
        node = self._nodes[index]
        if node.running:
            raise KafkaHarnessError(f"node {index} is already running")
        self._launch(node)
        self._write_state()
        self._wait_ready([node])

    def __enter__(self) -> KafkaCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- internals --

    def _format(self) -> None:
        """``StorageTool format`` on every node, in parallel (each is a JVM start).

        Every node gets the same cluster id and the same initial voter set
        ``id@host:port:directory-id``; the directory id names the node's metadata log dir.
        """
        assert self._libs is not None
        voters = ",".join(
            f"{n.node_id}@{HOST}:{n.controller_port}:{_kafka_uuid()}" for n in self._nodes
        )
        formats: list[tuple[_Node, subprocess.Popen[str]]] = []
        for node in self._nodes:
            if node.dir.exists():
                shutil.rmtree(node.dir)
            node.dir.mkdir(parents=True)
            node.config.write_text(_server_properties(node, self._nodes))
            node.log4j.write_text(_log4j2_properties(node.server_log))
            node.tools_log4j.write_text(_log4j2_properties(None))
            command = _java_command(
                self._libs,
                node.tools_log4j,
                "kafka.tools.StorageTool",
                "format",
                "--config",
                str(node.config),
                "--cluster-id",
                self.cluster_id,
                "--initial-controllers",
                voters,
            )
            process = subprocess.Popen(  # noqa: S603 - java from PATH, our own arguments
                command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            formats.append((node, process))
        failures = []
        for node, process in formats:
            output, _ = process.communicate(timeout=START_TIMEOUT_S)
            if process.returncode != 0:
                # The error comes first; the Java stack under it matters less.
                head = "\n".join(output.splitlines()[:20])
                failures.append(f"node {node.node_id}: exit {process.returncode}\n{head}")
        if failures:
            raise KafkaHarnessError("formatting the storage failed:\n" + "\n".join(failures))

    def _launch(self, node: _Node) -> None:
        assert self._libs is not None
        command = _java_command(self._libs, node.log4j, "kafka.Kafka", str(node.config))
        with node.console_log.open("ab") as console:
            node.process = subprocess.Popen(  # noqa: S603 - java from PATH, our own arguments
                command,
                stdin=subprocess.DEVNULL,
                stdout=console,
                stderr=subprocess.STDOUT,
                cwd=node.dir,
                start_new_session=self.detach,
            )

    def _wait_ready(self, nodes: list[_Node]) -> None:
        """Wait until each of ``nodes`` answers Metadata and lists every running node.

        Fails at once if a node's process exits, and after START_TIMEOUT_S otherwise; either
        way with the end of the logs of the nodes concerned.
        """
        deadline = time.monotonic() + START_TIMEOUT_S
        pending = list(nodes)
        while True:
            expected = {node.node_id for node in self._nodes if node.running}
            for node in list(pending):
                assert node.process is not None
                code = node.process.poll()
                if code is not None:
                    raise KafkaHarnessError(
                        f"Kafka node {node.node_id} exited with code {code} while starting\n"
                        + node.logs()
                    )
                with contextlib.suppress(OSError, struct.error):
                    if expected <= broker_ids(node.port):
                        pending.remove(node)
            if not pending:
                return
            if time.monotonic() > deadline:
                logs = "\n".join(node.logs() for node in pending)
                ids = ", ".join(str(node.node_id) for node in pending)
                raise KafkaHarnessError(
                    f"Kafka node(s) {ids} not ready after {START_TIMEOUT_S:.0f} s "
                    f"(expected brokers {sorted(expected)})\n{logs}"
                )
            time.sleep(POLL_INTERVAL_S)

    @staticmethod
    def _reap(node: _Node, deadline: float) -> None:
        assert node.process is not None
        try:
            node.process.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            node.process.kill()
            node.process.wait()

    def _write_state(self) -> None:
        """Record ports and pids in the work dir: what ``down`` needs to stop the nodes."""
        state = {
            "kafka_version": kafka_version(),
            "cluster_id": self.cluster_id,
            "brokers": self.brokers,
            "bootstrap": self.bootstrap,
            "nodes": [
                {
                    "id": node.node_id,
                    "pid": pid,
                    "port": node.port,
                    "controller_port": node.controller_port,
                    "config": str(node.config),
                }
                for node, pid in zip(self._nodes, self.pids, strict=True)
            ],
        }
        if self.work_dir.is_dir():
            (self.work_dir / STATE_FILE).write_text(json.dumps(state, indent=2) + "\n")


# --- command line ----------------------------------------------------------------------------


def _recorded_nodes(work_dir: Path) -> Iterator[tuple[int, Path]]:
    """(pid, config) of the nodes a state file records as started and still alive."""
    state_path = work_dir / STATE_FILE
    if not state_path.exists():
        return
    state = json.loads(state_path.read_text())
    for node in state["nodes"]:
        if node["pid"] and _pid_is_node(node["pid"], Path(node["config"])):
            yield node["pid"], Path(node["config"])


def _is_harness_dir(work_dir: Path) -> bool:
    """A folder `up` may wipe: absent, empty, or made by this harness."""
    return not work_dir.exists() or not any(work_dir.iterdir()) or (work_dir / STATE_FILE).exists()


def cmd_up(brokers: int, work_dir: Path) -> int:
    if list(_recorded_nodes(work_dir)):
        print(f"a cluster is already running from {work_dir}: `down` it first", file=sys.stderr)
        return 1
    if not _is_harness_dir(work_dir):
        print(f"{work_dir} exists and was not made by this harness: not using it", file=sys.stderr)
        return 1
    # Every `up` starts a fresh cluster: new cluster id, new ports, empty logs.
    shutil.rmtree(work_dir, ignore_errors=True)
    cluster = KafkaCluster(brokers, work_dir, keep=True, detach=True)
    started = time.monotonic()
    try:
        cluster.start()
    except KafkaHarnessError as error:
        print(f"{error}\n(logs kept in {work_dir})", file=sys.stderr)
        return 1
    print(
        f"Apache Kafka {kafka_version()}: {brokers} node(s) ready in "
        f"{time.monotonic() - started:.1f} s; pids {cluster.pids}; logs in {work_dir}",
        file=sys.stderr,
    )
    print(cluster.bootstrap, flush=True)  # the last line of stdout, for scripts
    return 0


def cmd_down(work_dir: Path) -> int:
    if not work_dir.exists():
        print(f"nothing to stop: {work_dir} does not exist", file=sys.stderr)
        return 0
    if not (work_dir / STATE_FILE).exists():
        print(f"{work_dir} has no {STATE_FILE}: not a harness dir, left alone", file=sys.stderr)
        return 1
    nodes = list(_recorded_nodes(work_dir))
    for pid, _ in nodes:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    # The nodes are not our children (their `up` has exited), so poll instead of wait().
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while any(_pid_is_node(pid, config) for pid, config in nodes):
        if time.monotonic() > deadline:
            for pid, config in nodes:
                if _pid_is_node(pid, config):
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGKILL)
            break
        time.sleep(POLL_INTERVAL_S)
    shutil.rmtree(work_dir, ignore_errors=True)
    print(f"stopped {len(nodes)} node(s); removed {work_dir}", file=sys.stderr)
    return 0


def cmd_jars() -> int:
    started = time.monotonic()
    libs = resolve_jars()
    count = len(list(libs.glob("*.jar")))
    print(f"{count} jars in {time.monotonic() - started:.1f} s", file=sys.stderr)
    print(libs)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.kraft", description=__doc__.split("\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start a cluster in the background")
    up.add_argument("--brokers", type=int, choices=(1, 3), default=1)
    up.add_argument("--dir", type=Path, default=DEFAULT_CLI_DIR, help="work dir (state, logs)")
    down = commands.add_parser("down", help="stop the cluster recorded in --dir, remove it")
    down.add_argument("--dir", type=Path, default=DEFAULT_CLI_DIR)
    commands.add_parser("jars", help="resolve the broker's jars only")
    args = parser.parse_args(argv)
    try:
        if args.command == "up":
            return cmd_up(args.brokers, args.dir.resolve())
        if args.command == "down":
            return cmd_down(args.dir.resolve())
        return cmd_jars()
    except KafkaHarnessError as error:
        print(error, file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
