"""Per-IOR entry counts over a sliding 30-day window, for straw-IOR detection.

Counts are kept in day buckets so memory is bounded by 30 numbers per IOR whatever its
volume; entries arriving out of order land in their own day. Time is the entry's own
``filed_at``, never a clock, so a replay of the same feed counts the same.
"""

from __future__ import annotations

from datetime import datetime
from typing import Final, Protocol, cast

from screening.native import NATIVE

WINDOW_DAYS: Final = 30
_EPOCH_DAY_SECONDS: Final = 86_400
_EPOCH_ORDINAL: Final = 719_163  # date(1970, 1, 1).toordinal()


def _day(at: datetime) -> int:
    """Days since the epoch, in UTC. Nearly every filing is stamped in UTC, where the
    calendar date is the day: a third of the cost of going through ``timestamp()``."""
    if not at.utcoffset():
        return at.toordinal() - _EPOCH_ORDINAL
    return int(at.timestamp()) // _EPOCH_DAY_SECONDS


class ActivityView(Protocol):
    def entries_in_window(self, ior_number: str, at: datetime) -> int: ...


class ActivityCounter:
    def __init__(self) -> None:
        self._days: dict[str, dict[int, int]] = {}

    def record(self, ior_number: str, at: datetime) -> None:
        day = _day(at)
        buckets = self._days.get(ior_number)
        if buckets is None:
            self._days[ior_number] = {day: 1}
            return
        buckets[day] = buckets.get(day, 0) + 1
        if len(buckets) > WINDOW_DAYS + 1:
            newest = max(buckets)
            for old in [d for d in buckets if d <= newest - WINDOW_DAYS]:
                del buckets[old]

    def entries_in_window(self, ior_number: str, at: datetime) -> int:
        buckets = self._days.get(ior_number)
        if not buckets:
            return 0
        day = _day(at)
        return sum(n for d, n in buckets.items() if day - WINDOW_DAYS < d <= day)

    def remove(self, ior_number: str, at: datetime) -> None:
        """Take back one entry recorded at ``at`` (a replayed batch is counted again)."""
        buckets = self._days.get(ior_number)
        day = _day(at)
        if buckets and buckets.get(day, 0) > 0:
            buckets[day] -= 1

    def buckets(self, ior_number: str) -> dict[int, int]:
        """The IOR's day buckets (days since the epoch -> entries), for a changelog."""
        return dict(self._days.get(ior_number, {}))

    def load(self, ior_number: str, buckets: dict[int, int]) -> None:
        self._days[ior_number] = dict(buckets)

    def forget(self, ior_number: str) -> None:
        self._days.pop(ior_number, None)

    def __len__(self) -> int:
        return len(self._days)


def new_activity_counter() -> ActivityCounter:
    """A counter for the hot path: the compiled one when the native core is installed (the
    same counts, and the native screening path counts each filing without a Python call),
    else :class:`ActivityCounter`."""
    if NATIVE is not None:
        return cast(ActivityCounter, NATIVE.ActivityCounter())
    return ActivityCounter()
