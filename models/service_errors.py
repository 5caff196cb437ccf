"""The one place where service errors become itas's retryable errors (for the worker's
layer task, and for the scheduler's loop).

A layer task talks to three services besides the LLM endpoints: the cache's Redis, PostgreSQL
and the broker. When one of them is down or restarting, the library raises its own type
(redis-py's ``ConnectionError``/``TimeoutError``, SQLAlchemy's ``OperationalError``, kombu's
``OperationalError``). Uncaught, any of those would fail the question for good; mapped here to
:class:`~models.errors.ServiceUnavailable`, the layer task retries it with Celery's backoff
(``worker.tasks.run_layer``), and the question is scored later from a real answer; the
scheduler waits and resumes its job (``scheduler.cli.scheduler``).

Only errors of *reaching* a service are mapped. A Redis ``ResponseError`` (a wrong command) or
SQLAlchemy's ``IntegrityError`` (a broken invariant) is a bug, and retrying would only repeat it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import kombu.exceptions
import redis.exceptions
import sqlalchemy.exc

from models.errors import BrokerUnavailable, CacheUnavailable, DatabaseUnavailable

#: redis-py's errors of an unreachable or stalled server (BusyLoadingError, a server still
#: loading its data after a restart, is a ConnectionError).
REDIS_DOWN = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    text = str(orig).strip()
    return text.splitlines()[0] if text else type(orig).__name__


def is_database_down(exc: BaseException) -> bool:
    """A lost or refused PostgreSQL connection, as opposed to a bad statement."""
    if isinstance(exc, sqlalchemy.exc.OperationalError | sqlalchemy.exc.InterfaceError):
        return True
    return isinstance(exc, sqlalchemy.exc.DBAPIError) and bool(exc.connection_invalidated)


def raised_in_kombu(exc: BaseException) -> bool:
    """Whether ``exc`` came out of kombu's own code. Under a threads pool, kombu's Redis
    transport can meet a channel that another thread's reconnect has just closed, and says
    so with an AttributeError ('NoneType' object has no attribute 'client'; kombu issue #659
    describes the race): that is a lost broker connection, not a bug of ours."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        last = tb.tb_frame.f_code.co_filename
        tb = tb.tb_next
    return last is not None and "/kombu/" in last.replace("\\", "/")


@contextmanager
def service_errors_mapped() -> Iterator[None]:
    """Run the body; re-raise an unreachable service as the matching ServiceUnavailable.

    kombu's OperationalError comes first: with a Redis broker it may wrap redis-py's error.
    """
    try:
        yield
    except AttributeError as exc:
        if not raised_in_kombu(exc):
            raise
        raise BrokerUnavailable(f"the broker connection was lost mid-send: {exc}") from exc
    except kombu.exceptions.OperationalError as exc:
        raise BrokerUnavailable(f"the broker does not answer: {_first_line(exc)}") from exc
    except REDIS_DOWN as exc:
        raise CacheUnavailable(f"the cache's Redis does not answer: {_first_line(exc)}") from exc
    except sqlalchemy.exc.DBAPIError as exc:
        if not is_database_down(exc):
            raise
        raise DatabaseUnavailable(f"PostgreSQL does not answer: {_first_line(exc)}") from exc


def is_service_down(exc: BaseException) -> bool:
    """Whether ``exc``, or an error it was raised from, says a service is unreachable (mapped
    or not): worth waiting out. The chain matters: Optuna's storage raises its own
    ``StorageInternalError`` from SQLAlchemy's."""
    from models.errors import ServiceUnavailable

    seen: BaseException | None = exc
    for _ in range(10):  # a cause chain is short; the bound guards against a cycle
        if seen is None:
            return False
        if (isinstance(seen, (ServiceUnavailable, kombu.exceptions.OperationalError,
                              *REDIS_DOWN)) or is_database_down(seen)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
