"""The embedded trace store's switches and registry entry (issue 17), without starting anything."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from devstack import catalog
from devstack.kafka_artifacts import ARTIFACTS
from devstack.launcher import StackInfo, registry, service_env
from devstack.postgres import PgEndpoint, Secrets
from devstack.supervisor import Http
from devstack.zipkin import ARTIFACT, Tracing, java_command, tracing_from_env


def _info(tracing: Tracing) -> StackInfo:
    return StackInfo(
        state_dir=Path("/nonexistent"),
        postgres=PgEndpoint("127.0.0.1", 5432, "zenops"),
        admin_dsn="postgresql://admin@127.0.0.1:5432/zenops",
        dsns={s: {"owner": "o", "app": "a", "system": "s"} for s in catalog.db_services()},
        kafka_bootstrap="127.0.0.1:9092",
        urls={"gateway": "http://127.0.0.1:8080", "billing": "http://127.0.0.1:8084"},
        secrets=Secrets(
            Path("/nonexistent/secrets.json"),
            dict.fromkeys(
                (
                    "postgres_password",
                    "jwt_secret",
                    "service_token",
                    "studio_admin_token",
                    "webhook_secret",
                    "stripe_secret_key",
                    "razorpay_key_id",
                    "razorpay_key_secret",
                    "stripe_webhook_secret",
                    "razorpay_webhook_secret",
                ),
                "x",
            )
            | {"roles": {}},
        ),
        postgres_embedded=False,
        kafka_embedded=False,
        tracing=tracing,
    )


class TestSwitches:
    def test_the_default_is_the_embedded_zipkin(self) -> None:
        assert tracing_from_env({}).mode == "zipkin"

    def test_tracing_off_wins_over_an_endpoint(self) -> None:
        chosen = tracing_from_env(
            {"ZENOPS_TRACING": "off", "ZENOPS_OTLP_ENDPOINT": "http://c:4318/v1/traces"}
        )
        assert chosen == Tracing("off")

    def test_an_otlp_endpoint_sends_spans_there_and_starts_no_zipkin(self) -> None:
        chosen = tracing_from_env({"ZENOPS_OTLP_ENDPOINT": "http://c:4318/v1/traces"})
        assert chosen.service_env() == {
            "ZENOPS_OTEL_EXPORTER_ENDPOINT": "http://c:4318/v1/traces",
            "ZENOPS_ZIPKIN_ENDPOINT": "",
        }
        assert "zipkin" not in {e.name for e in registry(_info(chosen))}


class TestRegistry:
    def test_zipkin_is_one_supervised_entry_and_every_service_exports_to_it(self) -> None:
        info = _info(Tracing("zipkin", port=9411))
        (entry,) = [e for e in registry(info) if e.name == "zipkin"]
        assert entry.command == ("-m", "devstack.zipkin", "run", "--port", "9411")
        assert entry.health == Http("http://127.0.0.1:9411", path="/health")
        assert entry.url == "http://127.0.0.1:9411/zipkin/"
        env = service_env(info, catalog.service("billing"))
        assert env["ZENOPS_ZIPKIN_ENDPOINT"] == "http://127.0.0.1:9411/api/v2/spans"

    def test_tracing_off_adds_no_entry_and_no_exporter(self) -> None:
        info = _info(Tracing("off"))
        assert "zipkin" not in {e.name for e in registry(info)}
        env = service_env(info, catalog.service("billing"))
        # empty: no exporter, whatever the launching shell still exports
        assert (env["ZENOPS_ZIPKIN_ENDPOINT"], env["ZENOPS_OTEL_EXPORTER_ENDPOINT"]) == ("", "")

    def test_a_zipkin_without_a_port_yet_is_not_started(self) -> None:
        info = _info(dataclasses.replace(Tracing("zipkin"), port=None))
        assert "zipkin" not in {e.name for e in registry(info)}


class TestArtifact:
    def test_the_exec_jar_is_pinned_by_classifier_and_sha256(self) -> None:
        assert ARTIFACT.filename == "zipkin-server-3.5.1-exec.jar"
        assert ARTIFACT.url().endswith("/io/zipkin/zipkin-server/3.5.1/zipkin-server-3.5.1-exec.jar")
        assert len(ARTIFACT.sha256) == 64
        # the Kafka jars keep their names (no classifier)
        assert all(a.filename == f"{a.artifact}-{a.version}.jar" for a in ARTIFACTS)

    def test_the_jvm_listens_on_loopback_only(self) -> None:
        argv = java_command(Path("/usr/bin/java"), Path("/cache/z.jar"), 9500)
        assert argv[0] == "/usr/bin/java"
        assert "--armeria.ports[0].ip=127.0.0.1" in argv
        assert "--armeria.ports[0].port=9500" in argv
