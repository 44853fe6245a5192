"""What the screening loop reads from the mirrors: decoded registry records, reference data
and the active rule pack.

The mirrors hold raw bytes (half the memory of decoded records); the registry view decodes
a record on first use and keeps it while its bytes are unchanged, so an IOR filing thousands
of entries is decoded once. The identity of the decoded record is what the screener's
profile cache keys on.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Final

from schemas import codec
from schemas.reference import BrokerRecord, WatchlistRecord
from schemas.registry import IorRecord
from screening.engine import ReferenceData
from screening.rulepack import RulePack, RulePackError, load_rule_pack, parse_rule_pack
from screening.watchlist import WatchlistIndex
from streams.mirror import TopicMirror

log = logging.getLogger(__name__)

_DECODED_LIMIT: Final = 50_000
ACTIVE_PACK_KEY: Final = b"active"


# Fields that record activity rather than standing: a change to them alone (the workers
# write last_entry_at back) is not a reason to screen an IOR's holds again.
_BOOKKEEPING_FIELDS: Final = frozenset({"last_entry_at", "updated_at"})


class _DecodedRecords(dict[str, "IorRecord | None"]):
    """IOR number -> decoded record, or None (no record, or an unreadable one).

    A dict whose missing keys are decoded on first use: a hit is then one C-level lookup,
    which the native screener makes once per entry through ``__getitem__`` (a Python
    method in between cost about 1.5 us an entry)."""

    def __init__(self, decode: Callable[[str], IorRecord | None]) -> None:
        super().__init__()
        self._decode = decode

    def __missing__(self, ior_number: str) -> IorRecord | None:
        if len(self) >= _DECODED_LIMIT:
            for stale in list(itertools.islice(self, _DECODED_LIMIT // 2)):
                del self[stale]
        record = self[ior_number] = self._decode(ior_number)
        return record


class RegistryView:
    """Decoded registry records for the hot path.

    A decoded record stays cached until the mirror reports a change to its key, so a hit
    never touches the store (a dictionary lookup instead of a RocksDB read); so does the
    answer "no such IOR", since a new record is a change too. The cache is bounded: a
    decoded ``IorRecord`` takes about 5 KB, so it holds the most recently decoded
    ``_DECODED_LIMIT`` IORs and drops the older half when full.
    """

    def __init__(self, mirror: TopicMirror) -> None:
        self.mirror = mirror
        self._records = _DecodedRecords(self._decode)
        self._digests: dict[str, str] = {}  # computed when first asked
        # The hot path's lookup: IOR number -> record or None.
        self.lookup: Callable[[str], IorRecord | None] = self._records.__getitem__
        self.invalid_records = 0
        mirror.listeners.append(self._forget_changed)

    def __len__(self) -> int:
        return len(self.mirror)

    def _forget_changed(self, changes: list[tuple[bytes, bytes | None]]) -> None:
        records, digests = self._records, self._digests
        for key, _ in changes:
            ior_number = key.decode()
            records.pop(ior_number, None)
            digests.pop(ior_number, None)

    def _decode(self, ior_number: str) -> IorRecord | None:
        raw = self.mirror.get(ior_number.encode())
        if raw is None:
            return None
        try:
            return codec.decode(IorRecord, raw)
        except codec.InputRejected as error:
            # The loaders validate before producing, so this is a foreign writer's mistake;
            # an unreadable record counts as no record, which holds the IOR's entries.
            self.invalid_records += 1
            log.error(
                "unreadable registry record",
                extra={"ior_number_suffix": ior_number[-4:], "reason": error.message},
            )
            return None

    def get(self, ior_number: str) -> IorRecord | None:
        return self._records[ior_number]

    def digest(self, ior_number: str) -> str:
        """A short digest of what the rules can see of the IOR's record (not of its
        bookkeeping dates), computed once per registry version."""
        digest = self._digests.get(ior_number)
        if digest is None:
            record = self._records[ior_number]
            if record is not None:
                text = record.model_dump_json(exclude=set(_BOOKKEEPING_FIELDS)).encode()
            elif self.mirror.get(ior_number.encode()) is None:
                text = b""
            else:
                text = b"invalid"
            digest = "none" if not text else hashlib.blake2b(text, digest_size=8).hexdigest()
            if len(self._digests) >= _DECODED_LIMIT:
                self._digests.clear()
            self._digests[ior_number] = digest
        return digest


class ReferenceView:
    """Brokers and entity lists, rebuilt whenever either mirror has applied a change."""

    def __init__(self, brokers: TopicMirror, watchlist: TopicMirror) -> None:
        self.brokers = brokers
        self.watchlist = watchlist
        self._seen: tuple[int, int] | None = None
        self._current = ReferenceData()

    def current(self) -> tuple[ReferenceData, bool]:
        """The reference data, and whether it changed since the last call."""
        versions = (self.brokers.version, self.watchlist.version)
        if versions == self._seen:
            return self._current, False
        brokers = {}
        for _, raw in self.brokers.store.items():
            try:
                broker = codec.decode(BrokerRecord, raw)
            except codec.InputRejected:
                continue
            brokers[broker.filer_code] = broker
        records = []
        for _, raw in self.watchlist.store.items():
            try:
                records.append(codec.decode(WatchlistRecord, raw))
            except codec.InputRejected:
                continue
        self._current = ReferenceData(brokers, WatchlistIndex(records))
        self._seen = versions
        return self._current, True


class RulePackSource:
    """The active rule pack: a file (watched for changes) or a message on the rule-pack
    topic, whichever changed last. An invalid new pack is refused and the old one stays."""

    def __init__(
        self, initial: RulePack, mirror: TopicMirror | None, path: Path | None = None
    ) -> None:
        self.pack = initial
        self.mirror = mirror
        self.path = path
        self._seen_version = -1
        self._seen_mtime = self._mtime()

    def _mtime(self) -> float | None:
        try:
            return self.path.stat().st_mtime if self.path else None
        except OSError:
            return None

    def poll_file(self) -> RulePack | None:
        """A new pack from the file, if it was rewritten since the last call."""
        mtime = self._mtime()
        if self.path is None or mtime is None or mtime == self._seen_mtime:
            return None
        self._seen_mtime = mtime
        try:
            pack = load_rule_pack(self.path)
        except RulePackError as error:
            log.error("refused rule pack file", extra={"reason": str(error)})
            return None
        self.pack = pack
        return pack

    def poll_topic(self) -> RulePack | None:
        """A new pack from the topic, if one arrived since the last call."""
        if self.mirror is None or self.mirror.version == self._seen_version:
            return None
        self._seen_version = self.mirror.version
        raw = self.mirror.get(ACTIVE_PACK_KEY)
        if raw is None:
            return None
        try:
            pack = parse_rule_pack(codec.loads(raw), "rule pack from topic")
        except (RulePackError, ValueError) as error:
            log.error("refused rule pack from topic", extra={"reason": str(error)})
            return None
        if pack.version == self.pack.version:
            return None
        self.pack = pack
        return pack
