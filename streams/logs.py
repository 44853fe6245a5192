"""Structured logs: one JSON object per line on standard output (readable text on a terminal).

Every ``extra={...}`` field of a log call becomes a key of the JSON object. SSN-form IOR
numbers never reach a log: the pipeline logs counts, offsets and masked numbers only.
"""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and not key.startswith("_"):
                payload[key] = value
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(payload, default=str, option=orjson.OPT_NON_STR_KEYS).decode()


def logging_config(level: str = "INFO", *, json_output: bool | None = None) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for the worker: JSON unless on a terminal."""
    use_json = (not sys.stdout.isatty()) if json_output is None else json_output
    formatter = (
        {"()": "streams.logs.JsonFormatter"}
        if use_json
        else {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"main": formatter},
        "handlers": {
            "stdout": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stdout",
                "formatter": "main",
            },
        },
        "root": {"level": level, "handlers": ["stdout"]},
        # Client libraries are chatty at INFO about every rebalance and connection.
        "loggers": {
            "aiokafka": {"level": "WARNING"},
            "faust": {"level": "WARNING"},
            "mode": {"level": "WARNING"},
        },
    }
