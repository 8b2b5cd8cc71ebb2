"""Reconnect noise: one line when a dependency goes away, one when it is back (issue 19)."""

from __future__ import annotations

import logging
import sys

import asyncpg.exceptions as pg
import pytest
from prometheus_client import REGISTRY

from shared.telemetry.outages import OutageLog, OutageWatch, dependency_of


def _record(
    name: str, msg: str, level: int = logging.ERROR, *, exc: BaseException | None = None, **extra: object
) -> logging.LogRecord:
    exc_info = (type(exc), exc, None) if exc is not None else None
    record = logging.LogRecord(name, level, __file__, 1, msg, (), exc_info)
    record.__dict__.update(extra)
    return record


def _unable(n: int = 1) -> logging.LogRecord:
    return _record("aiokafka", f"Unable connect to node with id {n}: [Errno 111] Connect call failed")


def _count(name: str, dependency: str) -> float:
    return REGISTRY.get_sample_value(name, {"dependency": dependency}) or 0.0


class TestWhatIsOutageNoise:
    @pytest.mark.parametrize(
        ("record", "dependency"),
        [
            (_unable(), "broker"),
            (
                _record("aiokafka.consumer.group_coordinator", "Marking the coordinator dead (node 1)", 30),
                "broker",
            ),
            (
                _record("aiokafka.consumer.fetcher", "Failed fetch messages from 1: KafkaConnectionError"),
                "broker",
            ),
            (_record("shared.messaging.relay", "outbox relay could not publish; retrying", 30), "broker"),
            (_record("shared.messaging.relay", "outbox relay connection lost; retrying", 30), "database"),
            (_record("shared.health", "stream heartbeat not written", 30), "database"),
            (
                _record("sqlalchemy.pool.impl.AsyncAdaptedQueuePool", "Exception during reset or similar"),
                "database",
            ),
            (_record("anything", "failed", exc=pg.CannotConnectNowError("starting up")), "database"),
            (
                _record(
                    "shared.messaging.consumer",
                    "message handling failed",
                    30,
                    error="ConnectionDoesNotExistError()",
                ),
                "database",
            ),
            (_record("aiokafka", "Topic x not found in cluster metadata", 30), None),
            (
                _record("shared.messaging.consumer", "message handling failed", 30, error="KeyError('x')"),
                None,
            ),
            (_record("aiokafka", "Unable connect to node", logging.INFO), None),
            (_record("billing", "something failed", exc=ValueError("bug")), None),
        ],
    )
    def test_recognised(self, record: logging.LogRecord, dependency: str | None) -> None:
        assert dependency_of(record) == dependency

    def test_during_a_broker_outage_every_aiokafka_warning_belongs_to_it(self) -> None:
        record = _record("aiokafka", "Topic x not found in cluster metadata", 30)
        assert dependency_of(record, broker_down=True) == "broker"


class TestOncePerStateChange:
    def test_the_first_failure_is_one_line_the_rest_are_counted_then_back(
        self, caplog: pytest.LogCaptureFixture
    ) -> None:
        outages = OutageLog(settle_s=0.0)
        before = (
            _count("zenops_dependency_outages_total", "broker"),
            _count("zenops_dependency_log_lines_suppressed_total", "broker"),
        )
        first = _unable()
        assert outages.filter(first) is True
        assert (first.getMessage(), first.levelno) == ("broker unavailable", logging.ERROR)
        assert first.__dict__["first_error"].startswith("Unable connect to node with id 1")
        assert first.__dict__["source_logger"] == "aiokafka"
        kept = [outages.filter(_unable(n)) for n in range(2400)]
        assert not any(kept)
        assert outages.filter(_record("billing", "an unrelated error")) is True
        assert set(outages.down()) == {"broker"}
        assert _count("zenops_dependency_outages_total", "broker") == before[0] + 1
        assert _count("zenops_dependency_log_lines_suppressed_total", "broker") == before[1] + 2400

        with caplog.at_level(logging.WARNING, logger="shared.outages"):
            outages.back("broker")
            outages.back("broker")  # said once
        (back,) = caplog.records
        assert back.getMessage() == "broker back"
        assert back.__dict__["suppressed_lines"] == 2400
        assert outages.down() == {}
        assert outages.filter(_unable()) is True  # a new outage is a new line

    def test_stragglers_right_after_back_belong_to_the_outage(self) -> None:
        outages = OutageLog(settle_s=sys.float_info.max)
        assert outages.filter(_unable()) is True
        outages.back("broker")
        assert (
            outages.filter(_record("aiokafka", "Heartbeat failed for group g: coordinator (node 1)", 30))
            is False
        )
        assert outages.down() == {}

    def test_a_failure_with_a_traceback_is_one_line_without_it(self) -> None:
        outages = OutageLog()
        exc = pg.AdminShutdownError("terminating connection due to administrator command")
        record = _record("shared.messaging.consumer", "consume failed", exc=exc)
        assert outages.filter(record) is True
        assert (record.getMessage(), record.exc_info) == ("database unavailable", None)
        assert "AdminShutdownError" in record.__dict__["first_error"]
        assert outages.filter(_record("x", "again", exc=pg.CannotConnectNowError("starting"))) is False

    def test_the_broker_and_the_database_are_apart(self) -> None:
        outages = OutageLog()
        assert outages.filter(_unable()) is True
        assert outages.filter(_record("shared.health", "stream heartbeat not written", 30)) is True
        assert set(outages.down()) == {"broker", "database"}


async def _ok() -> str:
    return "ok"


async def _refused() -> str:
    raise ConnectionRefusedError


class TestTheWatch:
    async def test_back_once_the_probe_answers_and_the_failures_stopped(self) -> None:
        outages = OutageLog()
        outages.filter(_unable())
        outages.filter(_record("shared.health", "stream heartbeat not written", 30))
        watch = OutageWatch({"broker": _ok, "database": _refused}, outages=outages, quiet_s=0.0)
        await watch.check()
        assert set(outages.down()) == {"database"}

    async def test_not_back_while_failures_still_come(self) -> None:
        outages = OutageLog()
        outages.filter(_unable())
        watch = OutageWatch({"broker": _ok}, outages=outages, quiet_s=sys.float_info.max)
        await watch.check()
        assert set(outages.down()) == {"broker"}
