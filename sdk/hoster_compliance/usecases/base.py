"""What every part of the service shares: the HTTP answer of the framework-free endpoints, the
translation of an unreachable database into ``StorageUnavailable``, the state the parts work on."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from ..config import Config
from ..errors import ComplianceError, RateLimited, StorageUnavailable
from ..store.engine import storage_unavailable
from ..timeutil import Clock

RETRY_AFTER_SECONDS = 5


@dataclass(frozen=True)
class HttpResult:
    """What to answer: status, JSON body and extra headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


def error_result(exc: ComplianceError) -> HttpResult:
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if exc.status == 503 else {}
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(exc.retry_after)}
    return HttpResult(exc.status, exc.to_body(), headers)


def storage_errors_translated(exc: sa.exc.SQLAlchemyError) -> Exception:
    """``StorageUnavailable`` for a database that does not answer; other errors as they are
    (a bug: logged, answered 500)."""
    if storage_unavailable(exc):
        return StorageUnavailable("Storage is unavailable; retry later.")
    return exc


F = TypeVar("F", bound=Callable[..., Any])


def translating_storage_errors(method: F) -> F:
    """The method raises ``StorageUnavailable`` instead of SQLAlchemy's errors of an
    unreachable database, so no caller sees a driver's exception."""

    @functools.wraps(method)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        try:
            return method(*args, **kwargs)
        except sa.exc.SQLAlchemyError as exc:
            translated = storage_errors_translated(exc)
            if translated is exc:
                raise
            raise translated from exc

    return wrapped  # type: ignore[return-value]


class ServiceState:
    """What the parts of ``ComplianceService`` work on; its ``__init__`` sets them."""

    config: Config
    engine: Engine
    clock: Clock
    notify: Callable[[], None]
