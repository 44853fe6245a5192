"""Settings: one frozen object read from ``SCREENING_*`` environment variables.

Defaults suit a laptop (a broker on localhost:9092, metrics on 9464). Built once at an entry
point and passed down; nothing here opens a connection. Secrets are ``SecretStr`` so they
never print.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class TopicNames(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCREENING_TOPIC_", frozen=True, extra="forbid")

    entries_filed: str = "entries.filed"
    ior_registry: str = "ior.registry"
    reference_brokers: str = "reference.brokers"
    reference_watchlist: str = "reference.watchlist"
    reference_rulepacks: str = "reference.rulepacks"
    entries_released: str = "entries.released"
    entries_holds: str = "entries.holds"
    entries_seizure_review: str = "entries.seizure-review"
    screening_audit: str = "screening.audit"
    ior_vetting_alerts: str = "ior.vetting-alerts"
    holds_resolutions: str = "holds.resolutions"
    entries_filed_dlq: str = "entries.filed.dlq"
    penalty_cases: str = "penalty.cases"
    penalty_assessments: str = "penalty.assessments"
    # The screening loop's own state: open holds and per-IOR activity windows.
    holds_state: str = "screening.open-holds"
    activity_state: str = "screening.ior-activity"

    def with_prefix(self, prefix: str) -> TopicNames:
        """The same topics under ``prefix`` (demos and tests on a shared cluster)."""
        return TopicNames.model_validate(
            {name: f"{prefix}{value}" for name, value in self.model_dump().items()}
        )

    def as_environment(self) -> dict[str, str]:
        return {
            f"SCREENING_TOPIC_{name.upper()}": value for name, value in self.model_dump().items()
        }


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SCREENING_", frozen=True, extra="ignore")

    # --- Kafka connection ---
    kafka_bootstrap: str = "localhost:9092"
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None
    ssl_key_password: SecretStr | None = None
    # Apache Kafka supports idempotent producers; the embedded Tansu broker refuses them.
    producer_idempotence: bool = False
    client_id: str = "entry-screening"
    consumer_group: str = "entry-screening"
    # How long a silent worker keeps its partitions. A group join also waits on it (the
    # embedded broker answers a join after about half of it), so the demo and the tests on
    # the embedded broker use 2 s; Apache Kafka refuses less than its
    # group.min.session.timeout.ms (6 s by default).
    session_timeout_ms: Annotated[int, Field(ge=1_000, le=300_000)] = 10_000

    # --- topics ---
    topics: TopicNames = Field(default_factory=TopicNames)
    partitions: Annotated[int, Field(ge=1, le=10_000)] = 6
    replication_factor: Annotated[int, Field(ge=1, le=7)] = 1

    # --- the worker ---
    rule_pack_path: Path | None = None
    # Records per consumer batch, at most: every overhead of the hot path (fetch, flush,
    # acknowledgement, commit) is paid per batch. Measured on 2 cores with the embedded
    # broker: 2,000 -> about 18k entries/s, 10,000 -> about 30k/s. A quiet feed makes
    # small batches anyway (the consumer returns what has arrived), so latency stays low.
    batch_size: Annotated[int, Field(ge=1, le=100_000)] = 10_000
    batch_linger_ms: Annotated[int, Field(ge=0, le=60_000)] = 50
    # Screened batches whose outputs may still await the broker's acknowledgement while
    # the next batch is screened (their offsets are committed in order, once acknowledged).
    batches_in_flight: Annotated[int, Field(ge=1, le=8)] = 2
    # Decode and validate each batch's messages on a second thread while the loop screens
    # (the native core only): worth it with a second core; off, the loop decodes each
    # message as it reaches it.
    decode_ahead: bool = True
    # Read fetched record batches with the native core instead of aiokafka's Python (the
    # plain batches the project's producers write; anything else aiokafka reads as before).
    native_fetch: bool = True
    max_message_bytes: Annotated[int, Field(ge=1_024, le=50_000_000)] = 1_000_000
    table_store: Literal["memory", "rocksdb"] = "memory"
    data_dir: Path = Path("var/worker")
    # 0 picks a free port; -1 serves no metrics.
    metrics_port: Annotated[int, Field(ge=-1, le=65_535)] = 9464
    metrics_host: str = "127.0.0.1"
    # Key of the hash that lets authorised systems join on masked SSN-form IOR numbers.
    ior_hash_key: SecretStr | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"

    # --- the registry's and the holds' lifecycle ---
    # A hold nobody cured for this long goes to an officer for seizure review (E8).
    hold_max_age_hours: Annotated[float, Field(gt=0)] = 72.0
    hold_deadline_check_seconds: Annotated[float, Field(gt=0)] = 30.0
    # How often screened entries' dates are written back as the IORs' last_entry_at.
    last_entry_flush_seconds: Annotated[float, Field(gt=0)] = 60.0
    # An active IOR with no entry for this long is swept to inactive (E4; ACE uses a year).
    inactivity_days: Annotated[int, Field(ge=1)] = 365
    inactivity_sweep_seconds: Annotated[float, Field(gt=0)] = 3_600.0
    # Manifest confidentiality certifications: alert this many days before they expire.
    confidentiality_warning_days: Annotated[int, Field(ge=1)] = 60
    confidentiality_check_seconds: Annotated[float, Field(gt=0)] = 3_600.0

    @property
    def heartbeat_interval_ms(self) -> int:
        return max(min(1_000, self.session_timeout_ms // 3), 300)

    def as_environment(self) -> dict[str, str]:
        """These settings as SCREENING_* variables, to start a worker process with them."""
        env = self.topics.as_environment()
        for name, value in self:
            if name == "topics" or value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            env[f"SCREENING_{name.upper()}"] = str(value)
        return env

    def ior_hash_key_bytes(self) -> bytes | None:
        if self.ior_hash_key is None:
            return None
        return self.ior_hash_key.get_secret_value().encode()
