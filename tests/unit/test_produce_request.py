"""The one-join produce request (streams/produce_request.py) writes exactly the bytes
aiokafka's own encoding writes, for every request version."""

from __future__ import annotations

from typing import Any

from aiokafka.producer import sender
from aiokafka.protocol import produce
from hypothesis import given, settings
from hypothesis import strategies as st

from streams import produce_request

VERSIONS = [
    getattr(produce, f"ProduceRequest_v{n}")
    for n in range(9)
    if hasattr(produce, f"ProduceRequest_v{n}")
]

topics = st.lists(
    st.tuples(
        st.text(min_size=1, max_size=20),
        st.lists(
            st.tuples(st.integers(0, 2**31 - 1), st.one_of(st.none(), st.binary(max_size=300))),
            max_size=5,
        ),
    ),
    max_size=4,
)


@settings(max_examples=300)
@given(
    topics=topics,
    transactional_id=st.one_of(st.none(), st.text(max_size=12)),
    acks=st.sampled_from([-1, 0, 1]),
    timeout=st.integers(0, 2**31 - 1),
)
def test_every_version_encodes_to_aiokafkas_bytes(
    topics: list[Any], transactional_id: str | None, acks: int, timeout: int
) -> None:
    assert produce_request.install()
    built = sender.ProduceRequest(
        transactional_id=transactional_id,
        required_acks=acks,
        timeout=timeout,
        topics=topics,
    )
    plain = produce.ProduceRequest(
        transactional_id=transactional_id, required_acks=acks, timeout=timeout, topics=topics
    )
    for version in VERSIONS:
        if version.API_VERSION < 3 and transactional_id:
            continue  # aiokafka refuses it for these versions, both ways
        fast, reference = built.build(version), plain.build(version)
        assert type(fast) is not version  # the one-join struct was used
        assert fast.encode() == reference.encode()


def test_install_is_idempotent_and_hands_the_sender_the_one_join_request() -> None:
    assert produce_request.install()
    assert produce_request.install()
    assert sender.ProduceRequest is not produce.ProduceRequest
    assert issubclass(sender.ProduceRequest, produce.ProduceRequest)


def test_uninstall_gives_the_sender_aiokafkas_request_back() -> None:
    assert produce_request.install()
    produce_request.uninstall()
    assert sender.ProduceRequest is produce.ProduceRequest
    assert produce_request.install()
    assert getattr(sender.ProduceRequest, "one_join", False)
