"""Safe defaults (issue 14): production unless the launcher says dev, secrets that never print, and
retries only for failures that can pass."""

from __future__ import annotations

import logging
import os
from typing import Any, cast

import pytest
from asyncpg.exceptions import CannotConnectNowError, ConnectionDoesNotExistError
from asyncpg.exceptions import InterfaceError as PgInterfaceError
from pydantic import SecretStr, ValidationError
from sqlalchemy.exc import DataError, DBAPIError, InterfaceError, OperationalError, ProgrammingError

from shared.auth.principal import Principal
from shared.availability import database_away
from shared.messaging.consumer import ConsumerRunner, Outcome
from shared.messaging.envelope import Envelope
from shared.messaging.retry import can_pass
from shared.settings import ServiceSettings

SECRETS = {
    "jwt_secret": "jwt-secret-value",
    "service_token": "service-token-value",
    "studio_admin_token": "studio-admin-value",
    "webhook_secret": "webhook-secret-value",
    "db_app_url": "postgresql+asyncpg://app:db-password-value@localhost/x",
}


@pytest.fixture(autouse=True)
def _no_zenops_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only what a test passes counts, never the developer's shell."""
    for name in [n for n in os.environ if n.startswith("ZENOPS_")]:
        monkeypatch.delenv(name)


class TestEnvironment:
    def test_no_env_means_production_and_missing_secrets_stop_the_start(self) -> None:
        with pytest.raises(ValidationError, match="ZENOPS_JWT_SECRET, ZENOPS_SERVICE_TOKEN"):
            ServiceSettings()

    def test_production_with_its_secrets_has_no_dev_behaviour(self) -> None:
        settings = ServiceSettings(jwt_secret=SecretStr("s"), service_token=SecretStr("t"))
        assert (settings.env, settings.is_dev) == ("production", False)
        web = Principal(sub="u", aud="web", tenant_id=None, user_id=None)
        assert not web.is_factory_operator(dev=settings.is_dev)

    def test_a_jwks_stands_in_for_the_hs256_secret(self) -> None:
        with pytest.raises(ValidationError, match="ZENOPS_SERVICE_TOKEN") as refused:
            ServiceSettings(jwks_url="https://idp.example/jwks.json")
        assert "JWT_SECRET" not in str(refused.value)

    def test_the_env_variable_turns_dev_on(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setenv("ZENOPS_ENV", "dev")
        assert ServiceSettings().is_dev


class TestSecrets:
    def test_secrets_never_print(self, caplog: pytest.LogCaptureFixture) -> None:
        settings = ServiceSettings.model_validate({"env": "dev", **SECRETS})
        with caplog.at_level(logging.INFO):
            logging.getLogger("test").info("settings %s %r", settings, settings)
        shown = " ".join([repr(settings), str(settings), settings.model_dump_json(), caplog.text])
        for value in (*SECRETS.values(), "db-password-value"):
            assert value not in shown
        assert settings.jwt_secret.get_secret_value() == SECRETS["jwt_secret"]


class _Runner(ConsumerRunner):
    """The consumer's retry decision without Kafka or Postgres: ``_apply`` raises ``error``."""

    def __init__(self, error: Exception, *, fails: int | None = None) -> None:
        super().__init__(
            consumer_name="c",
            schema="s",
            bootstrap="localhost:1",
            # never reached: _apply, _send_dlq and _park are replaced
            db=cast(Any, None),
            outbox=cast(Any, None),
            producer=cast(Any, None),
            subscriptions=(),
            max_attempts=4,
            backoff_base_s=0.001,
        )
        self.error = error
        self.fails = fails  # raise only this many times (None: always)
        self.calls = 0
        self.dead: list[int] = []

    async def _apply(
        self, topic: str, envelope: Envelope, key: str | None = None, delivery: str = "first"
    ) -> str:
        del topic, envelope, key, delivery  # the overridden signature; this double only raises
        self.calls += 1
        if self.fails is None or self.calls <= self.fails:
            raise self.error
        return "applied"

    async def _send_dlq(
        self,
        topic: str,  # noqa: ARG002  the overridden signature
        key: str,  # noqa: ARG002  the overridden signature
        value: bytes,  # noqa: ARG002  the overridden signature
        *,
        error: str,  # noqa: ARG002  the overridden signature
        attempts: int,
    ) -> None:
        self.dead.append(attempts)

    async def _park(self, *args: Any, **kwargs: Any) -> None:
        pass


_OPERATIONAL = OperationalError("SELECT 1", {}, ConnectionResetError("gone"))


class TestRetries:
    @pytest.mark.parametrize(
        ("error", "passes"),
        [
            (KeyError("k"), False),
            (TypeError("t"), False),
            (ValueError("v"), False),
            (ProgrammingError("SELECT", {}, Exception("undefined column")), False),
            (DataError("SELECT", {}, Exception("invalid input syntax")), False),
            (_OPERATIONAL, True),
            (ConnectionResetError("gone"), True),
            (TimeoutError(), True),
            (RuntimeError("a handler saying not yet"), True),
        ],
    )
    def test_only_failures_that_can_pass_are_retried(self, error: Exception, passes: bool) -> None:
        assert can_pass(error) is passes

    @pytest.mark.parametrize(("error", "attempts"), [(KeyError("k"), 1), (RuntimeError("not yet"), 4)])
    async def test_the_consumer_dead_letters_a_permanent_failure_at_once(
        self, error: Exception, attempts: int
    ) -> None:
        runner = _Runner(error)
        envelope = Envelope.new(
            event_type="t", aggregate_id="a", aggregate_version=1, payload={}, message_id="m"
        )
        outcome = await runner.handle("topic", "key", envelope.model_dump_json().encode())
        assert outcome == Outcome("dead_lettered", "m")
        assert (runner.calls, runner.dead) == (attempts, [attempts])


def _wrapped(error: Exception) -> DBAPIError:
    """``error`` as SQLAlchemy's asyncpg dialect raises it: a DBAPIError whose cause is asyncpg's."""
    try:
        raise DBAPIError("SELECT 1", {}, Exception(str(error))) from error
    except DBAPIError as wrapped:
        return wrapped


class TestDatabaseAway:
    """Issue 19 (make chaos): a Postgres restart dead-lettered a good message after five quick attempts."""

    @pytest.mark.parametrize(
        ("error", "away"),
        [
            (_wrapped(CannotConnectNowError("the database system is starting up")), True),
            (_wrapped(ConnectionDoesNotExistError("connection was closed in the middle of operation")), True),
            (
                InterfaceError(
                    "SELECT 1",
                    {},
                    PgInterfaceError(
                        "cannot call PreparedStatement.fetch(): the underlying connection is closed"
                    ),
                ),
                True,
            ),
            (_OPERATIONAL, True),
            (ConnectionRefusedError("refused"), True),
            (RuntimeError("a handler saying not yet"), False),
            (KeyError("k"), False),
            (TimeoutError(), False),
            (ProgrammingError("SELECT", {}, Exception("undefined column")), False),
        ],
    )
    def test_only_a_database_that_is_away_counts_as_unavailable(self, error: Exception, away: bool) -> None:
        assert database_away(error) is away

    async def test_a_message_waits_for_the_database_without_spending_its_attempts(self) -> None:
        runner = _Runner(_wrapped(CannotConnectNowError("the database system is starting up")), fails=10)
        envelope = Envelope.new(
            event_type="t", aggregate_id="a", aggregate_version=1, payload={}, message_id="m"
        )
        outcome = await runner.handle("topic", "key", envelope.model_dump_json().encode())
        assert outcome == Outcome("applied", "m")
        assert (runner.calls, runner.dead) == (11, [])  # ten outages > max_attempts (4): still no dead letter

    async def test_a_failure_after_the_outage_still_has_all_its_attempts(self) -> None:
        class _OutageThenBug(_Runner):
            async def _apply(
                self, topic: str, envelope: Envelope, key: str | None = None, delivery: str = "first"
            ) -> str:
                del topic, envelope, key, delivery  # the overridden signature
                self.calls += 1
                raise (
                    _wrapped(CannotConnectNowError("starting up"))
                    if self.calls <= 3
                    else RuntimeError("not yet")
                )

        runner = _OutageThenBug(RuntimeError("unused"))
        envelope = Envelope.new(
            event_type="t", aggregate_id="a", aggregate_version=1, payload={}, message_id="m"
        )
        outcome = await runner.handle("topic", "key", envelope.model_dump_json().encode())
        assert outcome == Outcome("dead_lettered", "m")
        assert (runner.calls, runner.dead) == (3 + 4, [4])
