"""Debian's kcat on both ends of the pipeline: the command-line tool operators reach for.

kcat's own default partitioner (CRC32) is not the Java client's, so it is told to use
murmur2 like every other producer of the project; otherwise an IOR's entries would land on
another partition number than its registry record. Against the embedded broker kcat 1.7.1
(librdkafka 2.0.2) fails at its first request, so this test runs on Apache Kafka only
(``make test-kafka``).
"""

from __future__ import annotations

import asyncio
import json
import shutil
import time
from pathlib import Path
from typing import Any

import orjson
import pytest

from streams.settings import Settings
from tests.factories import FOREIGN_IOR, US_IOR, entry_data, ior_data
from tests.integration.harness import BrokerUnderTest, prepare, produce, running_worker

# One kcat run produces or reads a handful of records in well under a second here; 30 s
# allows for a loaded machine and still ends a kcat that hangs on a broker it cannot use.
KCAT_TIMEOUT_S = 30.0
# The worker decides two entries within a second of their arrival; 60 s allows for a slow
# machine (a group join included) and still fails a pipeline that never answers.
DECISIONS_TIMEOUT_S = 60.0


async def kcat(*args: str, stdin: bytes | None = None) -> bytes:
    """Run kcat without blocking the event loop (the worker runs on it); its output."""
    process = await asyncio.create_subprocess_exec(
        "kcat",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(stdin), KCAT_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError(
            f"kcat {' '.join(args)} did not finish in {KCAT_TIMEOUT_S} s"
        ) from None
    assert process.returncode == 0, f"kcat {' '.join(args)}: {err.decode(errors='replace')}"
    return out


async def kcat_read(settings: Settings, topic: str) -> list[dict[str, Any]]:
    """Every record of ``topic`` so far, as kcat's JSON envelopes (-e: stop at the end)."""
    out = await kcat(
        "-C", "-b", settings.kafka_bootstrap, "-t", topic, "-o", "beginning", "-e", "-J", "-q"
    )
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_kcat_feeds_the_pipeline_and_reads_its_decision_back(
    broker: BrokerUnderTest, tmp_path: Path
) -> None:
    if broker.kind == "embedded":
        pytest.skip(
            "kcat 1.7.1 (librdkafka 2.0.2) fails against the embedded broker "
            "(ApiVersions 'read underflow'); run it on Apache Kafka: make test-kafka"
        )
    if shutil.which("kcat") is None:
        pytest.skip("kcat is not installed (Debian: apt-get install -y kcat)")
    settings = broker.settings(tmp_path)
    topics = settings.topics
    released = entry_data(entry_number="ABC-1234567-6")  # a registered, compliant US IOR
    held = entry_data(entry_number="ABC-0000001-0", ior_number=FOREIGN_IOR)  # not registered
    lines = b"".join(
        e["ior_number"].encode() + b"|" + orjson.dumps(e) + b"\n" for e in (released, held)
    )
    assert lines.count(b"|") == 2  # the key delimiter appears nowhere else

    async def scenario() -> dict[str, list[dict[str, Any]]]:
        await prepare(settings)
        await produce(settings, topics.ior_registry, [(US_IOR.encode(), orjson.dumps(ior_data()))])
        async with running_worker(settings):
            await kcat(
                "-P",
                "-b",
                settings.kafka_bootstrap,
                "-t",
                topics.entries_filed,
                "-K",
                "|",
                "-X",
                "topic.partitioner=murmur2_random",
                stdin=lines,
            )
            deadline = time.monotonic() + DECISIONS_TIMEOUT_S
            while True:
                found = {
                    topic: await kcat_read(settings, topic)
                    for topic in (topics.entries_released, topics.entries_holds)
                }
                if all(found.values()) or time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.5)
            found[topics.entries_filed] = await kcat_read(settings, topics.entries_filed)
            found[topics.ior_registry] = await kcat_read(settings, topics.ior_registry)
            return found

    found = asyncio.run(scenario())
    (release,) = found[topics.entries_released]
    (hold,) = found[topics.entries_holds]
    decision = json.loads(release["payload"])
    assert (release["key"], decision["outcome"]) == ("ABC-1234567-6", "release")
    assert decision["decision_id"] and decision["trigger"] == "filed"
    decision = json.loads(hold["payload"])
    assert (hold["key"], decision["outcome"]) == ("ABC-0000001-0", "hold")
    assert "IOR-UNREGISTERED" in [h["rule_id"] for h in decision["hits"]]
    # murmur2: kcat put the IOR's entry on the partition of its registry record.
    (registry_record,) = found[topics.ior_registry]
    entry_partition = {r["key"]: r["partition"] for r in found[topics.entries_filed]}
    assert entry_partition[US_IOR] == registry_record["partition"]
    assert release["partition"] == registry_record["partition"]
