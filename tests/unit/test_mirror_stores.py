"""The registry mirror's stores: the same behaviour in memory and in RocksDB."""

from __future__ import annotations

from pathlib import Path

import pytest

from streams.mirror import MemoryStore, MirrorStore, RocksStore


@pytest.fixture(params=["memory", "rocksdb"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MirrorStore:
    if request.param == "rocksdb":
        pytest.importorskip("rocksdict", reason="the rocksdb extra is not installed")
        return RocksStore(tmp_path / "registry.rocksdb")
    return MemoryStore()


def test_a_later_record_replaces_and_a_tombstone_deletes(store: MirrorStore) -> None:
    store.apply([(b"A", b"1"), (b"B", b"2"), (b"A", b"3"), (b"B", None)], {0: 4})
    assert (store.get(b"A"), store.get(b"B"), len(store)) == (b"3", None, 1)
    assert list(store.items()) == [(b"A", b"3")]
    store.close()


def test_rocksdb_remembers_records_count_and_offsets_across_restarts(tmp_path: Path) -> None:
    pytest.importorskip("rocksdict", reason="the rocksdb extra is not installed")
    first = RocksStore(tmp_path / "r")
    first.apply([(b"A", b"1"), (b"B", b"2")], {0: 7, 1: 3})
    first.close()
    again = RocksStore(tmp_path / "r")
    assert (again.get(b"B"), len(again), again.offsets()) == (b"2", 2, {0: 7, 1: 3})
    again.close()


def test_the_memory_store_starts_from_the_beginning() -> None:
    assert MemoryStore().offsets() == {}
