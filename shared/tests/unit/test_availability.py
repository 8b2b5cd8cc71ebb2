"""503 ``SERVICE_UNAVAILABLE`` instead of a 500 when the database or the broker is away (issue 19)."""

from __future__ import annotations

import asyncio
import errno
import logging

import asyncpg.exceptions as pg
import httpx
import pytest
import sqlalchemy.exc as sa
from aiokafka import errors as kafka
from fastapi import FastAPI

from shared.api import errors, install_truthful_openapi
from shared.availability import BROKER, DATABASE, unavailable_dependency
from shared.errors import DomainError, NotFound
from shared.http import create_service_app
from shared.runtime import StreamApp
from shared.settings import ServiceSettings


def _chained(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as raised:
        return raised


def _wrapped(orig: BaseException) -> sa.DBAPIError:
    """What SQLAlchemy raises for a driver error: the driver's exception as ``orig``."""
    return sa.OperationalError("SELECT 1", {}, orig)


class TestWhatMeansAway:
    @pytest.mark.parametrize(
        "exc",
        [
            ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 5432)"),
            OSError("Multiple exceptions: [Errno 111] Connect call failed ('127.0.0.1', 5432)"),
            ConnectionResetError(errno.ECONNRESET, "reset"),
            TimeoutError(),
            pg.CannotConnectNowError("the database system is starting up"),
            pg.AdminShutdownError("terminating connection due to administrator command"),
            pg.CrashShutdownError("crash"),
            pg.ConnectionDoesNotExistError("connection was closed in the middle of operation"),
            pg.TooManyConnectionsError("too many clients"),
            pg.InterfaceError("cannot call Connection.fetch(): connection is closed"),
            sa.TimeoutError("QueuePool limit of size 10 overflow 10 reached, connection timed out"),
            _wrapped(pg.AdminShutdownError("terminating connection")),
            _chained(RuntimeError("rollback failed"), pg.ConnectionDoesNotExistError("gone")),
            ExceptionGroup("task group", [ValueError("other"), pg.CannotConnectNowError("starting")]),
        ],
    )
    def test_the_database_away(self, exc: BaseException) -> None:
        assert unavailable_dependency(exc) == DATABASE

    @pytest.mark.parametrize(
        "exc",
        [
            kafka.KafkaConnectionError("Unable to bootstrap from [('127.0.0.1', 9092)]"),
            kafka.KafkaTimeoutError(),
            kafka.NoBrokersAvailable(),
            kafka.NotLeaderForPartitionError(),  # retriable
            _chained(RuntimeError("send failed"), kafka.RequestTimedOutError()),
        ],
    )
    def test_the_broker_away(self, exc: BaseException) -> None:
        assert unavailable_dependency(exc) == BROKER

    @pytest.mark.parametrize(
        "exc",
        [
            ValueError("a bug"),
            KeyError("x"),
            FileNotFoundError(errno.ENOENT, "blob"),
            pg.UniqueViolationError("duplicate key"),
            pg.QueryCanceledError("canceling statement due to statement timeout"),
            _wrapped(pg.UndefinedColumnError("column x does not exist")),
            pg.InterfaceError("cannot perform operation: another operation is in progress"),
            kafka.UnsupportedVersionError(),
        ],
    )
    def test_anything_else_stays_a_failure(self, exc: BaseException) -> None:
        assert unavailable_dependency(exc) is None

    def test_a_cycle_in_the_chain_ends(self) -> None:
        first, second = ValueError("a"), ValueError("b")
        first.__context__, second.__context__ = second, first
        assert unavailable_dependency(first) is None


def _app(failure: BaseException, *, retry_after_s: int = 7) -> FastAPI:
    settings = ServiceSettings(env="test", service_name="avail-test", retry_after_s=retry_after_s)
    app = create_service_app(settings, title="availability test")

    @app.get("/v1/things/{thing_id}", responses=errors(NotFound))
    async def thing(thing_id: str) -> dict[str, str]:
        await asyncio.sleep(0)
        if thing_id:
            raise failure
        return {}

    install_truthful_openapi(app, dependencies=True)
    return app


async def _get(app: FastAPI, path: str = "/v1/things/1") -> httpx.Response:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers={"x-request-id": "rid-503"})


class TestTheAnswer:
    async def test_the_database_away_is_503_with_retry_after_and_no_traceback(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        failure = _wrapped(pg.CannotConnectNowError("the database system is starting up"))
        with caplog.at_level(logging.WARNING, logger="shared.http"):
            answer = await _get(_app(failure))
        assert answer.status_code == 503
        assert answer.headers["Retry-After"] == "7"
        assert answer.json() == {
            "code": "SERVICE_UNAVAILABLE",
            "message": "the database is unavailable, retry later",
            "details": {"dependency": "database", "retry_after_s": 7},
        }
        assert "Traceback" not in answer.text
        (record,) = [r for r in caplog.records if r.name == "shared.http"]
        assert (record.levelno, record.getMessage(), record.exc_info) == (
            logging.WARNING,
            "dependency unavailable",
            None,
        )

    async def test_the_broker_away_is_503_too(self) -> None:
        answer = await _get(_app(kafka.KafkaConnectionError("Unable to bootstrap")))
        assert (answer.status_code, answer.json()["details"]["dependency"]) == (503, BROKER)
        assert answer.headers["Retry-After"] == "7"

    async def test_a_bug_is_still_a_500_without_its_text(self) -> None:
        answer = await _get(_app(RuntimeError("secret detail")))
        assert answer.status_code == 500
        assert answer.json() == {
            "code": "INTERNAL_ERROR",
            "message": "internal error",
            "details": {"request_id": "rid-503"},
        }
        assert "Retry-After" not in answer.headers

    def test_the_document_names_the_503_and_its_retry_after_except_on_probes(self) -> None:
        paths = _app(ValueError()).openapi()["paths"]
        answer = paths["/v1/things/{thing_id}"]["get"]["responses"]["503"]
        assert "SERVICE_UNAVAILABLE" in answer["description"]
        assert answer["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ErrorBody"}
        assert answer["headers"]["Retry-After"]["schema"] == {"type": "integer", "minimum": 0}
        assert "503" not in paths["/healthz"]["get"]["responses"]
        assert paths["/readyz"]["get"]["responses"]["503"]["description"] == "NOT_READY"


class _FlakyConsumer:
    """A consumer group loop that fails with ``failures`` before it ends."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.runs = 0

    async def run(self) -> None:
        self.runs += 1
        if self.failures:
            raise self.failures.pop(0)


class TestTheStreamOutlivesAnOutage:
    async def test_the_consumer_loop_restarts_after_the_database_or_broker_was_away(
        self, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        pauses: list[float] = []

        async def no_wait(seconds: float) -> None:
            pauses.append(seconds)

        monkeypatch.setattr("shared.runtime.asyncio.sleep", no_wait)
        consumer = _FlakyConsumer(
            ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed"),
            pg.CannotConnectNowError("starting up"),
            kafka.KafkaConnectionError("Unable to bootstrap"),
        )
        await StreamApp._keep_consuming(consumer)  # type: ignore[arg-type]  # the loop's one method
        assert consumer.runs == 4
        assert pauses == [1.0, 2.0, 4.0]

    async def test_a_bug_still_ends_the_process(self) -> None:
        consumer = _FlakyConsumer(ValueError("a bug"))
        with pytest.raises(ValueError, match="a bug"):
            await StreamApp._keep_consuming(consumer)  # type: ignore[arg-type]  # the loop's one method
        assert consumer.runs == 1


class _BrokerAway(DomainError, code="BROKER_UNAVAILABLE", status=503):
    """A service's own 503 (the ops routes' broker check) that names no retry time itself."""


class TestEvery503SaysWhen:
    async def test_a_503_without_its_own_retry_time_gets_the_services(self) -> None:
        answer = await _get(_app(_BrokerAway("broker away")))
        assert (answer.status_code, answer.json()["code"]) == (503, "BROKER_UNAVAILABLE")
        assert answer.headers["Retry-After"] == "7"

    async def test_a_4xx_gets_none(self) -> None:
        answer = await _get(_app(NotFound("no such thing")))
        assert answer.status_code == 404
        assert "Retry-After" not in answer.headers
