"""Produce requests written with one join instead of one per level.

aiokafka's protocol layer encodes a request level by level: each record batch is copied
into its partition's bytes, those into the topic's, those into the request's, each a new
``bytes``. The screening loop writes about 3 KB of outputs per entry, so a worker's produce
requests carry tens of megabytes a second, and that encoding was the largest piece of
aiokafka's own work in the worker's profile (about a microsecond per entry). The request
here has the same fields and writes the same bytes, gathering every piece first and joining
them once.

:func:`install` hands it to aiokafka's sender, and only after checking that aiokafka is
built the way this expects and that both encodings give the same bytes for a sample
request of every version; otherwise it leaves aiokafka as it is (an aiokafka upgrade can
cost speed here, not correctness). ``tests/unit/test_produce_request.py`` compares the two
encodings on generated requests.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Sequence
from typing import Any

log = logging.getLogger(__name__)

_INT16 = struct.Struct(">h").pack
_INT32 = struct.Struct(">i").pack
_NULL_STRING = _INT16(-1)
_NULL_BYTES = _INT32(-1)

Topics = Sequence[tuple[str, Sequence[tuple[int, bytes | None]]]]


def _string(value: str | None) -> bytes:
    if value is None:
        return _NULL_STRING
    raw = value.encode("utf-8")
    return _INT16(len(raw)) + raw


def encode_produce_request(
    transactional_id: str | None,
    with_transactional_id: bool,
    acks: int,
    timeout: int,
    topics: Topics,
) -> bytes:
    """A ProduceRequest body (v0-v2 without the transactional id, v3 and later with it)."""
    pieces = [_string(transactional_id)] if with_transactional_id else []
    pieces.append(_INT16(acks) + _INT32(timeout) + _INT32(len(topics)))
    for topic, partitions in topics:
        pieces.append(_string(topic) + _INT32(len(partitions)))
        for partition, records in partitions:
            if records is None:
                pieces.append(_INT32(partition) + _NULL_BYTES)
            else:
                pieces.append(_INT32(partition) + _INT32(len(records)))
                pieces.append(records)
    return b"".join(pieces)


def _one_join_struct(base: type[Any]) -> type[Any]:
    with_id = "transactional_id" in base.SCHEMA.names

    def encode(self: Any) -> bytes:
        return encode_produce_request(
            self.transactional_id if with_id else None,
            with_id,
            self.required_acks,
            self.timeout,
            self.topics,
        )

    return type(base.__name__, (base,), {"encode": encode, "__module__": __name__})


def _sample_topics() -> list[tuple[str, list[tuple[int, bytes | None]]]]:
    return [("decisions.hold", [(0, b"\x00" * 70), (5, None)]), ("audit", [(2, b"batch")])]


def install() -> bool:
    """Give aiokafka's sender the one-join produce request, if aiokafka is the one this was
    written against and the encodings agree; True if installed."""
    try:
        from aiokafka.producer import sender
        from aiokafka.protocol import produce
    except ImportError:  # pragma: no cover - aiokafka is a dependency
        return False
    original = getattr(produce, "ProduceRequest", None)
    in_use = getattr(sender, "ProduceRequest", None)
    if getattr(in_use, "one_join", False):
        return True  # installed before
    if in_use is not original or not hasattr(original, "build"):
        log.info("aiokafka's produce request left as it is (not the layout expected)")
        return False
    structs = [
        getattr(produce, name)
        for name in dir(produce)
        if name.startswith("ProduceRequest_v") and hasattr(getattr(produce, name), "SCHEMA")
    ]
    faster: dict[type[Any], type[Any]] = {}
    for base in structs:
        fast = _one_join_struct(base)
        args: tuple[Any, ...] = (-1, 30_000, _sample_topics())
        if "transactional_id" in base.SCHEMA.names:
            args = ("txn-é", *args)
        if fast(*args).encode() != base(*args).encode():
            log.info("aiokafka's produce request left as it is (encodings differ)")
            return False
        faster[base] = fast

    class OneJoinProduceRequest(original):  # type: ignore[misc, valid-type]
        one_join = True

        def build(self, request_struct_class: type[Any]) -> Any:
            return super().build(faster.get(request_struct_class, request_struct_class))

    sender.ProduceRequest = OneJoinProduceRequest
    return True


def uninstall() -> None:
    """Give aiokafka's sender its own produce request back (the benchmark measures its
    ceiling with aiokafka as it comes)."""
    from aiokafka.producer import sender
    from aiokafka.protocol import produce

    sender.ProduceRequest = produce.ProduceRequest
