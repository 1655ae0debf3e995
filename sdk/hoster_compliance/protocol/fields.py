"""Strict marshmallow fields for the wire format: JSON types are taken as sent (no ``"true"`` for
a bool, no ``1.0`` or ``true`` for an int) and times go through :mod:`timeutil`, so one instant is
read and written one way everywhere."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from marshmallow import fields, validate

from ..timeutil import format_time, parse_time


class Time(fields.DateTime):
    """RFC 3339 with a mandatory offset; loads to an aware UTC datetime, dumps with ``Z``.

    A ``DateTime`` subclass only so that apispec describes it as ``string``/``date-time``.
    """

    default_error_messages = {"invalid": "Not a valid RFC 3339 time with an offset."}

    def _serialize(self, value: Any, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        return format_time(value)

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> datetime:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        try:
            return parse_time(value)
        except (ValueError, OverflowError) as exc:  # OverflowError: year 9999 with an offset
            raise self.make_error("invalid") from exc


class StrictString(fields.String):
    """A JSON string and nothing else (marshmallow's ``String`` also takes bytes)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if not isinstance(value, str):
            raise self.make_error("invalid")
        return value


class StrictBoolean(fields.Boolean):
    """A JSON ``true`` or ``false``; marshmallow's ``Boolean`` would take ``"yes"`` or ``1``."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


class StrictInteger(fields.Integer):
    """A JSON integer: not a bool, not a float (even ``5.0``), not a string."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.make_error("invalid")
        return value


class BoundedList(fields.List[Any]):
    """A JSON array whose ``length`` (a ``validate.Length``) is checked before any element is
    looked at (PROTOCOL 13.2): a list of 250,000 bad elements costs one check, not 250,000
    validations and an error body naming each."""

    def __init__(self, inner: Any, *, length: validate.Length, **kwargs: Any) -> None:
        super().__init__(inner, **kwargs)
        self.length = length

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> Any:
        if isinstance(value, list):
            self.length(value)
        return super()._deserialize(value, attr, data, **kwargs)
