"""Apache Kafka tests run only on request.

Each test here starts real Kafka JVMs (seconds, ~250 MB per node), so a plain ``pytest``
from the repo root leaves this folder uncollected. ``make test-kafka`` sets
``SCREENING_RUN_APACHE_KAFKA=1``; with it, ``pytest tests/kafka`` runs them.
"""

from __future__ import annotations

import os

# Ignoring the test files (rather than skipping their tests) keeps them from being imported
# and listed at all in the default run; this conftest is still read, so setting the
# variable is all it takes to bring them back.
if os.environ.get("SCREENING_RUN_APACHE_KAFKA") != "1":
    collect_ignore_glob = ["test_*.py"]
