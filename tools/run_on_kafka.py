"""The broker-facing test suites on real Apache Kafka: ``make test-kafka``.

Starts a single-node Apache Kafka (KRaft) cluster with :mod:`tools.kraft`, runs pytest on
``tests/integration`` (pointed at that cluster), ``tests/kafka`` and ``tests/reliability``
(which start their own clusters where a test needs to stop or restart brokers), stops the
cluster and exits with pytest's status.

Usage::

    python -m tools.run_on_kafka                   # the three folders
    python -m tools.run_on_kafka -x -k kcat        # extra pytest arguments
    python -m tools.run_on_kafka tests/integration/test_kcat.py   # these tests instead

Arguments go to pytest as they are; when none of them names a test file or folder (a
path that exists), the three default folders are added. The cluster's folder (logs, data)
is ``var/run-on-kafka``; it is removed after a green run and kept after a red one.

Standard library and :mod:`tools.kraft` only: this runs before anything else is checked.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from tools.kraft import REPO, KafkaCluster, KafkaHarnessError, kafka_version

DEFAULT_PATHS = ("tests/integration", "tests/kafka", "tests/reliability")
WORK_DIR = REPO / "var" / "run-on-kafka"


def _names_tests(args: list[str]) -> bool:
    """Whether the pytest arguments already name what to run (a path, maybe with ::test)."""
    return any(not arg.startswith("-") and (REPO / arg.split("::", 1)[0]).exists() for arg in args)


def _say(text: str) -> None:
    print(f"[run_on_kafka] {text}", file=sys.stderr, flush=True)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not _names_tests(args):
        args = [*DEFAULT_PATHS, *args]
    cluster = KafkaCluster(brokers=1, work_dir=WORK_DIR)
    started = time.monotonic()
    try:
        cluster.start()
    except KafkaHarnessError as error:
        _say(f"Apache Kafka did not start: {error}")
        return 1
    _say(
        f"Apache Kafka {kafka_version()} (1 node) ready in {time.monotonic() - started:.1f} s "
        f"at {cluster.bootstrap}"
    )
    env = {
        **os.environ,
        "SCREENING_TEST_BOOTSTRAP": cluster.bootstrap,
        "SCREENING_TEST_BROKER_KIND": "apache",
        "SCREENING_RUN_APACHE_KAFKA": "1",
    }
    status = 1
    try:
        # No timeout here: every test carries its own (pytest-timeout), and a hung run is
        # better ended by CI's job limit than by a guess made here.
        status = subprocess.run(  # noqa: S603 - this interpreter's pytest, our arguments
            [sys.executable, "-m", "pytest", *args], cwd=REPO, env=env, check=False
        ).returncode
    except KeyboardInterrupt:
        status = 130
    finally:
        # A red run keeps the broker's logs for whoever investigates it.
        cluster.keep = status != 0
        cluster.stop()
    minutes = (time.monotonic() - started) / 60
    kept = f"; broker logs kept in {Path(WORK_DIR).relative_to(REPO)}" if status else ""
    _say(f"pytest exited with status {status} after {minutes:.1f} min{kept}")
    return status


if __name__ == "__main__":
    sys.exit(main())
