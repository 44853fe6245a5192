"""Bases shared by the message models."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Message(BaseModel):
    """Base of every input message: immutable, and unknown fields are refused."""

    # No whitespace stripping: codes arrive exactly as filed, and a padded code is an error.
    # Only field names go through pydantic's string cache: values are nearly all distinct
    # (entry numbers, names, references), so caching them cost 0.9 µs per entry for nothing.
    model_config = ConfigDict(frozen=True, extra="forbid", cache_strings="keys")
