"""Connection settings for every Kafka client the project makes (admin, producer, consumer).

One place turns :class:`~streams.settings.Settings` into aiokafka keyword arguments, so
SASL/TLS work the same for the worker, the loaders, the demo and the benchmarks.
"""

from __future__ import annotations

import ssl
from typing import Any

from streams.settings import Settings

# The largest record batch a producer of this project makes: a whole partition's share of
# a consumer batch, and within the broker's default message.max.bytes (1 MiB).
MAX_BATCH_BYTES = 1_048_576


def ssl_context(settings: Settings) -> ssl.SSLContext | None:
    if settings.security_protocol not in {"SSL", "SASL_SSL"}:
        return None
    context = ssl.create_default_context(
        cafile=str(settings.ssl_cafile) if settings.ssl_cafile else None
    )
    if settings.ssl_certfile is not None:
        password = (
            settings.ssl_key_password.get_secret_value() if settings.ssl_key_password else None
        )
        context.load_cert_chain(
            str(settings.ssl_certfile),
            str(settings.ssl_keyfile) if settings.ssl_keyfile else None,
            password,
        )
    return context


def client_options(settings: Settings, *, role: str) -> dict[str, Any]:
    """Keyword arguments shared by aiokafka's admin client, producer and consumer."""
    options: dict[str, Any] = {
        "bootstrap_servers": settings.kafka_bootstrap,
        "client_id": f"{settings.client_id}-{role}",
        "security_protocol": settings.security_protocol,
    }
    context = ssl_context(settings)
    if context is not None:
        options["ssl_context"] = context
    if settings.security_protocol.startswith("SASL"):
        options["sasl_mechanism"] = settings.sasl_mechanism
        options["sasl_plain_username"] = settings.sasl_username
        options["sasl_plain_password"] = (
            settings.sasl_password.get_secret_value() if settings.sasl_password else None
        )
    return options


def producer_options(settings: Settings, *, role: str) -> dict[str, Any]:
    """A producer whose acknowledgement means every in-sync replica has the record."""
    return {
        **client_options(settings, role=role),
        "acks": "all",
        "enable_idempotence": settings.producer_idempotence,
        "linger_ms": 5,
        # Batches are filled by the pipeline itself (streams.output).
        "max_batch_size": MAX_BATCH_BYTES,
        "max_request_size": max(settings.max_message_bytes * 2, 2_097_152),
        "request_timeout_ms": 30_000,
    }
