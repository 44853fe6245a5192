"""The broker for integration tests.

By default the session starts the embedded broker (Tansu) on a free port. With
``SCREENING_TEST_BOOTSTRAP`` set (``make test-kafka`` does it after starting Apache Kafka
with the KRaft harness) the same tests run against that broker instead; set
``SCREENING_TEST_BROKER_KIND=apache`` along with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from streams.embedded import EmbeddedBroker
from tests.integration.harness import BrokerUnderTest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.path):
            item.add_marker(pytest.mark.broker)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrokerUnderTest]:
    external = os.environ.get("SCREENING_TEST_BOOTSTRAP")
    if external:
        yield BrokerUnderTest(external, os.environ.get("SCREENING_TEST_BROKER_KIND", "apache"))
        return
    log = tmp_path_factory.mktemp("broker") / "tansu.log"
    with EmbeddedBroker(log_path=log) as embedded:
        yield BrokerUnderTest(embedded.bootstrap, "embedded")
