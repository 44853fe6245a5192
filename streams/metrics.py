"""Prometheus metrics of a worker, in one place, on an injectable registry.

Names follow Prometheus conventions: the ``screening_`` prefix, base units (seconds),
``_total`` counters, and no per-entry labels (rule ids, outcomes, stages and partitions are
bounded sets). Each worker process serves its own ``/metrics``; counters and histograms sum
correctly across workers in PromQL (``sum(rate(...))``), so no shared multiprocess state is
needed.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterable, Iterator, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info
from prometheus_client.metrics_core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from schemas.decision import OUTCOMES
from schemas.reference import BrokerRecord
from streams import fetch_records

# Latency buckets from 1 ms to 30 s: a healthy pipeline answers in tens of milliseconds,
# a lagging one in seconds.
_LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)
_STAGE_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5)
# screen: decode, validate, registry lookup, rules, the decision and its audit event written
# into the batch, the metric counts and the holds opened at filing (the native core's run
# of messages); emit: what the loop does per entry after screening where the run leaves a
# message to it (an entry with an open hold, a message the decoder is unsure of) and, on
# the Python core, for every entry: hold state, metric counts.
STAGES = ("screen", "emit", "lifecycle", "produce", "commit")

_ENTRY_CATEGORIES = {
    **dict.fromkeys(("01", "02", "03", "06", "07", "08", "09"), "formal"),
    **dict.fromkeys(("11", "12", "13"), "informal"),
    **dict.fromkeys(("61", "62", "63", "69", "70"), "in_bond"),
    "86": "de_minimis",
    **dict.fromkeys(("21", "23", "26", "31", "32", "34", "38"), "warehouse"),
}
BOND_TYPES = {"8": "continuous", "9": "single_transaction", "0": "none"}


def entry_category(entry_type: str) -> str:
    return _ENTRY_CATEGORIES.get(entry_type, "other")


# What the screening loop counts per decision at filing for the foreign-IOR view:
# (classification, outcome, entry type, bond type or None, IOR is a CTPAT member, filer
# code, failed prongs). Cheap to build per entry; :func:`filing_labels` turns a batch's
# counts into the metrics' labels once per distinct value.
FilingProfile = tuple[str, str, str, str | None, bool, str | None, tuple[str, ...]]
# (classification, outcome, entry category, bond type, CTPAT path)
FilingLabels = tuple[str, str, str, str, str]
_KNOWN_PROFILES_LIMIT = 100_000


def ctpat_path(ior_member: bool, filer: str | None, brokers: Mapping[str, BrokerRecord]) -> str:
    """How an entry reaches CTPAT: through its IOR, its broker, or not at all."""
    if ior_member:
        return "ior_member"
    if filer is None:
        return "self_filed"
    broker = brokers.get(filer)
    return "broker_member" if broker is not None and broker.ctpat_tier > 0 else "non_member_broker"


def filing_labels(
    profiles: Mapping[FilingProfile, int],
    brokers: Mapping[str, BrokerRecord],
    known: dict[FilingProfile, FilingLabels] | None = None,
) -> tuple[dict[FilingLabels, int], dict[str, int]]:
    """Counts by label tuple, and failed prongs counted over foreign IORs' decisions.

    ``known``: the labels of profiles seen before under the same ``brokers`` (a batch has
    a thousand distinct profiles, mostly the previous batch's); filled in as it goes."""
    by_label: dict[FilingLabels, int] = {}
    prongs: dict[str, int] = {}
    if known is None:
        known = {}
    elif len(known) >= _KNOWN_PROFILES_LIMIT:
        known.clear()
    for profile, count in profiles.items():
        labels = known.get(profile)
        if labels is None:
            classification, outcome, entry_type, bond, ior_member, filer, _ = profile
            labels = known[profile] = (
                classification,
                outcome,
                entry_category(entry_type),
                BOND_TYPES[bond] if bond is not None else "none",
                ctpat_path(ior_member, filer, brokers),
            )
        by_label[labels] = by_label.get(labels, 0) + count
        classification, failed = profile[0], profile[6]
        if classification == "foreign":
            for prong in failed:
                prongs[prong] = prongs.get(prong, 0) + count
    return by_label, prongs


class BulkHistogram(Collector):
    """A histogram fed a whole batch of observations at once.

    ``prometheus_client.Histogram.observe`` takes a lock and walks the buckets per call,
    about 2 µs; the end-to-end latency of every entry is observed, so the screening loop
    hands over a batch's latencies in one call instead. Exposed exactly like a Histogram.
    """

    def __init__(
        self, name: str, documentation: str, buckets: Iterable[float], registry: CollectorRegistry
    ) -> None:
        self._name = name
        self._documentation = documentation
        self._bounds = sorted(buckets)
        self._counts = [0] * (len(self._bounds) + 1)  # the last slot is +Inf
        self._sum = 0.0
        self._lock = threading.Lock()
        registry.register(self)

    def observe_many(self, values: Iterable[float]) -> None:
        self.observe_counted((value, 1) for value in values)

    def observe_counted(self, counted: Iterable[tuple[float, int]]) -> None:
        """Observe each value as many times as its count (a batch's entries arrive many to
        a millisecond: their latencies are counted first, then bucketed once each)."""
        bounds = self._bounds
        counts = [0] * len(self._counts)
        total = 0.0
        for value, times in counted:
            counts[bisect.bisect_left(bounds, value)] += times
            total += value * times
        with self._lock:
            for index, count in enumerate(counts):
                self._counts[index] += count
            self._sum += total

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            counts, total = list(self._counts), self._sum
        cumulative, buckets = 0, []
        labels = [*map(floatToGoString, self._bounds), "+Inf"]
        for bound, count in zip(labels, counts, strict=True):
            cumulative += count
            buckets.append((bound, cumulative))
        yield HistogramMetricFamily(
            self._name, self._documentation, buckets=buckets, sum_value=total
        )


class FetchReads(Collector):
    """Partitions' fetched data by the reader that read it (``streams.fetch_records``
    counts as the fetcher hands it over; this reads the counts at scrape time, so the
    fetcher pays a dictionary increment and no metric call)."""

    def __init__(self, registry: CollectorRegistry) -> None:
        registry.register(self)

    def collect(self) -> Iterator[Metric]:
        family = CounterMetricFamily(
            "screening_fetches_read",
            "Partitions' fetched data read, by reader: native, or aiokafka for what the "
            "native reader leaves to it (compressed or transactional record batches).",
            labels=["reader"],
        )
        for reader, count in fetch_records.READS.items():
            family.add_metric([reader], count)
        yield family


class PipelineMetrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.entries_consumed = Counter(
            "screening_entries_consumed", "Entry filings consumed from entries.filed.", registry=r
        )
        self.decisions = Counter(
            "screening_decisions",
            "Decisions produced and acknowledged, by outcome.",
            ["outcome", "rule_pack_version"],
            registry=r,
        )
        self.rule_hits = Counter(
            "screening_rule_hits",
            "Matched rules in acknowledged decisions.",
            ["rule_id"],
            registry=r,
        )
        self.dlq_messages = Counter(
            "screening_dlq_messages",
            "Inputs sent to the dead-letter topic, by reason.",
            ["reason"],
            registry=r,
        )
        self.stage_duration = Histogram(
            "screening_stage_duration_seconds",
            "Time spent per batch in each stage of the hot path.",
            ["stage"],
            buckets=_STAGE_BUCKETS,
            registry=r,
        )
        self.end_to_end_latency = BulkHistogram(
            "screening_end_to_end_latency_seconds",
            "From the filing's arrival on entries.filed to its decision's acknowledgement.",
            _LATENCY_BUCKETS,
            r,
        )
        self.batch_size = Histogram(
            "screening_batch_size_records",
            "Records per consumer batch.",
            buckets=(1, 10, 50, 100, 250, 500, 1000, 2000, 5000, 10000),
            registry=r,
        )
        self.batch_failures = Counter(
            "screening_batch_failures",
            "Batches retried after a produce or commit failure.",
            registry=r,
        )
        self.registry_iors = Gauge(
            "screening_registry_iors", "IOR records in this worker's registry mirror.", registry=r
        )
        self.registry_age = Gauge(
            "screening_registry_age_seconds",
            "Seconds since the newest registry record this worker has applied was written.",
            registry=r,
        )
        self.registry_recovered = Gauge(
            "screening_registry_recovered",
            "1 once the registry mirror has caught up with the topic.",
            registry=r,
        )
        self.open_holds = Gauge(
            "screening_open_holds",
            "Entries on hold and not yet resolved (this worker's share).",
            registry=r,
        )
        self.consumer_lag = Gauge(
            "screening_consumer_lag_records",
            "Records of entries.filed not yet consumed, per partition, as this worker sees it.",
            ["partition"],
            registry=r,
        )
        # The operator's view of foreign IORs under the order (F1-F3): per decision, by the
        # IOR's classification. All labels are small closed sets.
        self.decisions_by_classification = Counter(
            "screening_decisions_by_ior_classification",
            "Decisions by the IOR's classification (us, foreign) and outcome.",
            ["classification", "outcome"],
            registry=r,
        )
        self.decisions_by_bond_type = Counter(
            "screening_decisions_by_bond_type",
            "Decisions by the entry's bond: continuous, single_transaction or none.",
            ["classification", "bond_type"],
            registry=r,
        )
        self.decisions_by_ctpat_path = Counter(
            "screening_decisions_by_ctpat_path",
            "Decisions by how the entry meets CTPAT: ior_member, broker_member, self_filed, "
            "non_member_broker.",
            ["classification", "ctpat_path"],
            registry=r,
        )
        self.decisions_by_entry_category = Counter(
            "screening_decisions_by_entry_category",
            "Decisions by entry category: formal, informal, in_bond, de_minimis, warehouse, other.",
            ["classification", "entry_category"],
            registry=r,
        )
        self.foreign_failed_prongs = Counter(
            "screening_foreign_ior_failed_prongs",
            "Failed prongs of the US-IOR test in decisions on foreign IORs, by prong.",
            ["prong"],
            registry=r,
        )
        self.oldest_open_hold_age = Gauge(
            "screening_oldest_open_hold_age_seconds",
            "Age of this worker's oldest open hold (0 when it has none).",
            registry=r,
        )
        self.hold_resolutions = Counter(
            "screening_hold_resolutions",
            "Hold resolutions applied, by action (cure, refile_formal, officer_release, "
            "confirm_seizure).",
            ["action"],
            registry=r,
        )
        self.vetting_findings = Counter(
            "screening_vetting_findings",
            "Findings in vetting alerts, by kind (became_foreign, lost_standing, ...).",
            ["kind"],
            registry=r,
        )
        self.vetting_alerts = Counter(
            "screening_vetting_alerts", "Vetting alerts raised (an IOR got worse).", registry=r
        )
        self.assigned_partitions = Gauge(
            "screening_assigned_partitions",
            "Partitions of entries.filed this worker owns (0 until it has joined the group).",
            registry=r,
        )
        self.rule_pack = Gauge(
            "screening_rule_pack_active",
            "1 for the rule pack version in use.",
            ["version"],
            registry=r,
        )
        self.build_info = Info("screening_build", "Version of the running worker.", registry=r)
        self.fetches_read = FetchReads(r)
        for outcome in OUTCOMES:
            self.decisions.labels(outcome, "none")
        for stage in STAGES:
            self.stage_duration.labels(stage)
        # Known label values start at zero, so a dashboard shows 0 rather than "no data".
        for reason in ("malformed", "invalid", "oversized"):
            self.dlq_messages.labels(reason)
