"""A worker group's progress as the broker records it: the offsets the group committed on
entries.filed against the topic's end offsets, sampled in the background.

The worker commits an input offset only after the broker acknowledged every output of the
batch, so a committed offset that moves means decisions that are safely written. This is
what a recovery time is measured on, from outside the worker and whatever the fault: a
killed worker, a group rebalance or a broker that went away and came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from streams.kafka import client_options
from streams.settings import Settings

# Sampling every 250 ms resolves recovery times of seconds well enough, and costs the broker
# two small requests per sample.
SAMPLE_INTERVAL_S = 0.25
# One request should take milliseconds; while a broker is down it may hang instead, so a
# sample gives up after this and the clients are made anew for the next one.
REQUEST_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class Sample:
    at: float  # time.monotonic() when the sample was asked for: it shows no older state
    committed: dict[int, int]  # partition -> next offset the group will process
    ends: dict[int, int]  # partition -> end offset of entries.filed

    @property
    def total(self) -> int:
        return sum(self.committed.values())

    def caught_up(self, records: int) -> bool:
        """Every one of ``records`` fed records is processed and committed."""
        return sum(self.ends.values()) >= records and self.committed == self.ends


class GroupProgress:
    """Samples the group's progress until the ``async with`` block ends."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.partitions = [
            TopicPartition(settings.topics.entries_filed, p) for p in range(settings.partitions)
        ]
        self.samples: list[Sample] = []
        self.failed_samples = 0
        self._admin: AIOKafkaAdminClient | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> GroupProgress:
        self._task = asyncio.create_task(self._sample_forever())
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._close()

    # -- sampling --

    async def _sample_forever(self) -> None:
        while True:
            try:
                self.samples.append(
                    await asyncio.wait_for(self._sample(), timeout=REQUEST_TIMEOUT_S)
                )
            except Exception:  # a broker down or restarting: try again with new clients
                self.failed_samples += 1
                await self._close()
            await asyncio.sleep(SAMPLE_INTERVAL_S)

    async def _sample(self) -> Sample:
        started = time.monotonic()
        if self._admin is None or self._consumer is None:
            self._admin = AIOKafkaAdminClient(**client_options(self.settings, role="test-admin"))
            self._consumer = AIOKafkaConsumer(
                **client_options(self.settings, role="test-ends"), group_id=None
            )
            await self._admin.start()
            await self._consumer.start()
        offsets = await self._admin.list_consumer_group_offsets(
            self.settings.consumer_group, partitions=self.partitions
        )
        ends = await self._consumer.end_offsets(self.partitions)
        return Sample(
            started,
            {tp.partition: max(offsets[tp].offset, 0) if tp in offsets else 0 for tp in ends},
            {tp.partition: end for tp, end in ends.items()},
        )

    async def _close(self) -> None:
        admin, consumer = self._admin, self._consumer
        self._admin = self._consumer = None
        for close in (admin.close if admin else None, consumer.stop if consumer else None):
            if close is not None:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(close(), timeout=REQUEST_TIMEOUT_S)

    # -- waiting --

    @property
    def latest(self) -> Sample | None:
        return self.samples[-1] if self.samples else None

    async def wait(
        self,
        condition: Callable[[Sample], bool],
        seconds: float,
        what: str,
        check: Callable[[], None] | None = None,
    ) -> Sample:
        """The first sample (taken from now on) that meets ``condition``; ``check`` runs
        meanwhile (e.g. that no worker died) and fails the test by raising."""
        deadline = time.monotonic() + seconds
        seen = len(self.samples)
        while True:
            for sample in self.samples[seen:]:
                if condition(sample):
                    return sample
            seen = len(self.samples)
            if check is not None:
                check()
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {seconds:.0f} s waiting for {what}; last sample: "
                    f"{self.latest} ({self.failed_samples} failed samples)"
                )
            await asyncio.sleep(SAMPLE_INTERVAL_S / 2)

    async def all_committed(
        self,
        records: int,
        seconds: float,
        check: Callable[[], None] | None = None,
        *,
        since: float = 0.0,
    ) -> Sample:
        """The first sample (asked for at ``since`` or later) in which the group has
        committed all ``records`` fed."""
        return await self.wait(
            lambda s: s.at >= since and s.caught_up(records),
            seconds,
            f"the group to commit all {records} records fed",
            check,
        )

    # -- figures --

    def backlog(self) -> int:
        """Records fed but not committed, as last sampled."""
        latest = self.latest
        return 0 if latest is None else sum(latest.ends.values()) - latest.total

    def recovery_after(self, fault_at: float, settled_at: float | None = None) -> float:
        """Seconds from ``fault_at`` until every partition with work pending committed
        past the offset it had once the fault had taken hold (the first sample asked for
        at ``settled_at`` or later, default ``fault_at``): the affected partitions are
        processed again. A partition with nothing fed past that offset has nothing to do.

        ``settled_at`` is for faults that take a while to bite (a broker's controlled
        shutdown): commits made while it went down are not mistaken for a recovery."""
        seconds = self._recovered(fault_at, fault_at if settled_at is None else settled_at)
        if seconds is None:
            raise AssertionError(f"no recovery after the fault at {fault_at:.1f} was sampled")
        return seconds

    async def recovery(
        self, fault_at: float, seconds: float, check: Callable[[], None] | None = None
    ) -> float:
        """Wait for the recovery from the fault at ``fault_at`` (see :meth:`recovery_after`)."""
        deadline = time.monotonic() + seconds
        while (recovered := self._recovered(fault_at, fault_at)) is None:
            if check is not None:
                check()
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"no recovery {seconds:.0f} s after the fault; last sample: {self.latest}"
                )
            await asyncio.sleep(SAMPLE_INTERVAL_S / 2)
        return recovered

    def _recovered(self, fault_at: float, settled_at: float) -> float | None:
        later = [s for s in self.samples if s.at >= settled_at]
        if not later:
            return None
        base = later[0]
        for sample in later[1:]:
            if all(
                sample.committed[p] > base.committed[p] or sample.ends[p] == base.committed[p]
                for p in base.committed
            ):
                return sample.at - fault_at
        return None

    def longest_stall(self) -> float:
        """The longest time any partition had records waiting and committed nothing."""
        longest = 0.0
        stalled_since: dict[int, float] = {}
        previous: Sample | None = None
        for sample in self.samples:
            for p, committed in sample.committed.items():
                moved = previous is None or committed != previous.committed[p]
                if committed >= sample.ends[p] or moved:
                    stalled_since.pop(p, None)
                    if committed < sample.ends[p]:
                        stalled_since[p] = sample.at
                else:
                    longest = max(longest, sample.at - stalled_since.setdefault(p, sample.at))
            previous = sample
        return longest
