"""The screening loop hands each batch's outputs to the producer in the background
(``ScreeningLoop._deliver``), so it can screen the next batch meanwhile. What must hold:

* a batch's record batches go to the producer only after every one of the batch before
  (a partition's records keep their order), however slowly the producer takes them;
* a batch's task ends only when its records are acknowledged;
* when a batch cannot be handed over, the batches after it are not sent and fail too (the
  loop then rewinds to the first of them).
"""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from aiokafka.errors import KafkaError, KafkaTimeoutError
from aiokafka.producer.message_accumulator import BatchBuilder

from streams.output import OutputBatch
from streams.pipeline import ScreeningLoop

TOPICS = {"decisions": 3, "audit": 3}


class SlowProducer:
    """Takes a record batch after a delay that shrinks batch by batch (a later batch would
    overtake an earlier one if both were handed over at once), and acknowledges it when
    the test says so."""

    def __init__(self, fail_on: bytes | None = None) -> None:
        self.taken: list[tuple[str, int, bytes]] = []
        self.acks: list[asyncio.Future[None]] = []
        self.fail_on = fail_on
        self._delay = 0.02

    def create_batch(self) -> BatchBuilder:  # the record batches when the native core is absent
        return BatchBuilder(1_048_576, 0, is_transactional=False)

    async def send_batch(self, batch: Any, topic: str, partition: int) -> asyncio.Future[None]:
        self._delay = max(self._delay - 0.004, 0)
        await asyncio.sleep(self._delay)
        first = _first_value(batch)
        if first == self.fail_on:
            raise KafkaTimeoutError()
        self.taken.append((topic, partition, first))
        ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


def _first_value(batch: Any) -> bytes:
    from aiokafka.record.default_records import DefaultRecordBatch

    batch.close()
    value: bytes = next(iter(DefaultRecordBatch(batch._build()))).value
    return value


def outputs(producer: SlowProducer, label: bytes) -> OutputBatch:
    out = OutputBatch(producer, TOPICS)  # type: ignore[arg-type]
    for partition in range(3):
        for topic in TOPICS:
            out.add(topic, partition, None, label + b"-%d" % partition)
    return out


async def until(condition: Any, seconds: float = 5.0) -> None:
    for _ in range(int(seconds / 0.005)):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError("timed out")


def loop_state() -> Any:
    return SimpleNamespace(_handed_over=None)


def test_batches_are_handed_over_in_order_and_end_when_acknowledged() -> None:
    asyncio.run(asyncio.wait_for(_batches_are_handed_over_in_order_and_end_when_acknowledged(), 10))


async def _batches_are_handed_over_in_order_and_end_when_acknowledged() -> None:
    producer = SlowProducer()
    state = loop_state()
    tasks = [ScreeningLoop._deliver(state, outputs(producer, b"batch%d" % n)) for n in range(4)]
    await until(lambda: len(producer.taken) == 24)
    for slot in {(topic, partition) for topic, partition, _ in producer.taken}:
        labels = [v for t, p, v in producer.taken if (t, p) == slot]
        assert labels == sorted(labels)  # batch0 before batch1 ... on every partition
        assert len(labels) == 4
    assert not any(task.done() for task in tasks)
    for ack in producer.acks[:6]:  # all of batch 0's
        ack.set_result(None)
    await asyncio.sleep(0.01)
    assert tasks[0].done() and not tasks[1].done()
    for ack in producer.acks[6:]:
        ack.set_result(None)
    await asyncio.gather(*tasks)


def test_batches_after_one_that_could_not_be_handed_over_fail_unsent() -> None:
    asyncio.run(
        asyncio.wait_for(_batches_after_one_that_could_not_be_handed_over_fail_unsent(), 10)
    )


async def _batches_after_one_that_could_not_be_handed_over_fail_unsent() -> None:
    producer = SlowProducer(fail_on=b"batch1-1")
    state = loop_state()
    tasks = [ScreeningLoop._deliver(state, outputs(producer, b"batch%d" % n)) for n in range(3)]
    results = await asyncio.gather(*tasks[1:], return_exceptions=True)
    assert isinstance(results[0], KafkaTimeoutError)
    assert isinstance(results[1], KafkaError)
    assert not any(value.startswith(b"batch2") for _, _, value in producer.taken)
    assert not tasks[0].done()  # still waiting for its acknowledgements
    for ack in producer.acks:
        ack.set_result(None)
    await tasks[0]


def test_a_failed_acknowledgement_fails_its_batch() -> None:
    asyncio.run(asyncio.wait_for(_a_failed_acknowledgement_fails_its_batch(), 10))


async def _a_failed_acknowledgement_fails_its_batch() -> None:
    producer = SlowProducer()
    state = loop_state()
    task = ScreeningLoop._deliver(state, outputs(producer, b"batch0"))
    await until(lambda: len(producer.acks) == 6)
    producer.acks[2].set_exception(KafkaTimeoutError())
    for ack in producer.acks:
        if not ack.done():
            ack.set_result(None)
    with pytest.raises(KafkaTimeoutError):
        await task
