"""deploy/ stays in step with the dev-stack launcher (issue 3, item 9). Static: no Docker needed.

The launcher (``devstack``) is the source of truth for which processes run, with which commands
and ``ZENOPS_*`` variables, which topics exist and how the database is provisioned. Each test names
what drifted and where to fix it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from devstack import catalog
from devstack.catalog import ServiceSpec
from devstack.kafka import KafkaNode
from devstack.kafka_artifacts import KAFKA_VERSION
from devstack.launcher import StackInfo, service_env
from devstack.postgres import PgEndpoint, Secrets, role_names
from shared.contracts import topics

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
COMPOSE = DEPLOY / "compose.yaml"
INIT_SCRIPT = DEPLOY / "postgres" / "init" / "10-zenops-roles.sh"
TOPIC_SCRIPT = DEPLOY / "kafka" / "create-topics.sh"
DOCKERFILE = DEPLOY / "Dockerfile"

# Kafka settings that name hosts, ports or paths: compose sets them for the container network.
KAFKA_ADDRESS_KEYS = frozenset(
    {"listeners", "advertised.listeners", "controller.quorum.bootstrap.servers", "log.dirs"}
)
SECRET_REF = re.compile(r"^\$\{[A-Z][A-Z0-9_]*:\?[^}]*\}$")


# --------------------------------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{COMPOSE} has no services"
    assert isinstance(data.get("services"), dict), f"{COMPOSE} has no services"
    return data


def _service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    services: dict[str, Any] = compose["services"]
    assert name in services, f"{COMPOSE}: service {name!r} is missing (the launcher runs it)"
    value = services[name]
    assert isinstance(value, dict)
    return value


def _env(compose: dict[str, Any], name: str) -> dict[str, str]:
    env = _service(compose, name).get("environment") or {}
    assert isinstance(env, dict), f"{COMPOSE}: {name}.environment must be a mapping"
    return {str(k): "" if v is None else str(v) for k, v in env.items()}


def _container_host(command: list[str]) -> list[str]:
    """The launcher binds HTTP apps to 127.0.0.1; containers must listen on every interface."""
    return ["0.0.0.0" if part == "127.0.0.1" else part for part in command]  # noqa: S104  the compose file's expected container bind, compared, never bound here


def _fake_stack() -> StackInfo:
    """A StackInfo with placeholder values: only the variable *names* of service_env matter here."""
    secrets = Secrets(
        Path("/nonexistent/secrets.json"),
        {
            "postgres_password": "x",
            "jwt_secret": "x",
            "service_token": "x",
            "studio_admin_token": "x",
            "webhook_secret": "x",
            "console_secret": "x",
            "stripe_secret_key": "x",
            "razorpay_key_id": "x",
            "razorpay_key_secret": "x",
            "stripe_webhook_secret": "x",
            "razorpay_webhook_secret": "x",
            "roles": {},
        },
    )
    return StackInfo(
        state_dir=Path("/nonexistent"),
        postgres=PgEndpoint("127.0.0.1", 5432, "zenops"),
        admin_dsn="postgresql://postgres:x@127.0.0.1:5432/zenops",
        dsns={s: {"owner": "o", "app": "a", "system": "s"} for s in catalog.db_services()},
        kafka_bootstrap="127.0.0.1:9092",
        urls={spec.name: f"http://127.0.0.1:{spec.default_port}" for spec in catalog.SERVICES},
        secrets=secrets,
        postgres_embedded=True,
        kafka_embedded=True,
    )


def _runners(spec: ServiceSpec) -> tuple[str, ...]:
    """The long-running containers of ``spec``: the service's one container (the combined process mode)
    and its stream container of the ``split`` profile; ``<name>-http`` for a service without a stream app."""
    return (spec.name, f"{spec.name}-stream") if spec.has_stream else (f"{spec.name}-http",)


def _containers(spec: ServiceSpec) -> list[str]:
    names = list(_runners(spec))
    if spec.has_db:
        names.append(f"{spec.name}-migrate")
    return names


# ----------------------------------------------------------------------------------------- processes


@pytest.mark.parametrize("spec", catalog.SERVICES, ids=lambda s: s.name)
def test_every_launcher_process_runs_in_compose_with_the_same_command(
    compose: dict[str, Any], spec: ServiceSpec
) -> None:
    services: dict[str, Any] = compose["services"]
    if spec.has_stream:
        # one container per service by default: `serve`, HTTP app + stream app (issue 18 item 3)
        main = _service(compose, spec.name)
        expected_serve = ["python", *_container_host(spec.serve_command(spec.default_port))]
        assert main.get("command") == expected_serve, (
            f"{spec.name} command drifted from catalog.ServiceSpec.serve_command: "
            f"compose has {main.get('command')}, launcher runs {expected_serve}"
        )
        assert _env(compose, spec.name).get("ZENOPS_PROCESS_MODE") == "${ZENOPS_PROCESS_MODE:-combined}", (
            f"{spec.name}: ZENOPS_PROCESS_MODE must default to combined and be settable"
        )
        assert f"{spec.name}-http" not in services, f"{spec.name} runs as one container, {spec.name}"
        stream = _service(compose, f"{spec.name}-stream")
        expected = ["python", *spec.stream_command()]
        assert stream.get("command") == expected, (
            f"{spec.name}-stream command drifted: compose has {stream.get('command')}, launcher runs {expected}"
        )
        assert stream.get("profiles") == ["split"], (
            f"{spec.name}-stream runs only in the split process mode (profiles: ['split'])"
        )
    else:
        http = _service(compose, f"{spec.name}-http")
        expected_http = ["python", *_container_host(spec.http_command(spec.default_port))]
        assert http.get("command") == expected_http, (
            f"{spec.name}-http command drifted from catalog.ServiceSpec.http_command: "
            f"compose has {http.get('command')}, launcher runs {expected_http}"
        )
        assert f"{spec.name}-stream" not in services, f"{spec.name} has no stream process in the catalog"
    if spec.has_db:
        migrate = _service(compose, f"{spec.name}-migrate")
        expected = ["python", *spec.migrate_command()]
        assert migrate.get("command") == expected, (
            f"{spec.name}-migrate command drifted: compose has {migrate.get('command')}, launcher runs {expected}"
        )
        assert migrate.get("restart") == "no", f"{spec.name}-migrate is a one-shot job (restart: 'no')"
        for runner in _runners(spec):
            if runner in services:
                deps = services[runner].get("depends_on") or {}
                assert deps.get(f"{spec.name}-migrate", {}).get("condition") == (
                    "service_completed_successfully"
                ), f"{runner} must wait for {spec.name}-migrate to complete"


def test_compose_runs_no_service_the_catalog_does_not_know(compose: dict[str, Any]) -> None:
    known = {name for spec in catalog.SERVICES for name in _containers(spec)}
    suffixed = {n for n in compose["services"] if re.search(r"-(http|stream|migrate)$", n)}
    assert suffixed <= known, (
        f"compose runs processes unknown to catalog.SERVICES: {sorted(suffixed - known)}"
    )


@pytest.mark.parametrize("spec", catalog.SERVICES, ids=lambda s: s.name)
def test_every_variable_the_launcher_passes_is_set_in_compose(
    compose: dict[str, Any], spec: ServiceSpec
) -> None:
    wanted = set(service_env(_fake_stack(), spec))
    for container in _containers(spec):
        if container not in compose["services"]:
            continue  # reported by the process test
        env = _env(compose, container)
        missing = sorted(wanted - set(env))
        assert not missing, f"{container}: compose does not set {missing} (devstack.launcher.service_env)"
        assert env["ZENOPS_SERVICE_NAME"] == spec.name, (
            f"{container}: ZENOPS_SERVICE_NAME must be {spec.name}"
        )
        assert env.get("ZENOPS_OTEL_EXPORTER_ENDPOINT", "").startswith("http://otel-collector:"), (
            f"{container}: ZENOPS_OTEL_EXPORTER_ENDPOINT must point at the otel-collector service"
        )
        assert env.get("ZENOPS_KAFKA_BOOTSTRAP") == "kafka:9092", (
            f"{container}: Kafka bootstrap is kafka:9092"
        )


@pytest.mark.parametrize("spec", [s for s in catalog.SERVICES if s.has_db], ids=lambda s: s.name)
def test_database_urls_use_the_service_roles(compose: dict[str, Any], spec: ServiceSpec) -> None:
    assert spec.schema is not None
    roles = role_names(spec.schema)
    migrate = _env(compose, f"{spec.name}-migrate")
    for kind, role in roles.items():
        url = migrate[f"ZENOPS_DB_{kind.upper()}_URL"]
        password_var = f"ZENOPS_PG_{spec.schema.upper()}_{kind.upper()}_PASSWORD"
        assert url.startswith(f"postgresql+asyncpg://{role}:${{{password_var}:?"), (
            f"{spec.name}-migrate ZENOPS_DB_{kind.upper()}_URL must log in as {role} with ${{{password_var}:?}}"
        )
        assert url.endswith("@postgres:5432/zenops"), (
            f"{spec.name}: database URL must target postgres:5432/zenops"
        )
    for container in _runners(spec):
        if container in compose["services"]:
            env = _env(compose, container)
            # Least privilege: the DDL role is for the migrate job only.
            assert env["ZENOPS_DB_OWNER_URL"] == "", f"{container} must not receive the owner role's URL"
            assert env["ZENOPS_DB_APP_URL"] == migrate["ZENOPS_DB_APP_URL"]
            assert env["ZENOPS_DB_SYSTEM_URL"] == migrate["ZENOPS_DB_SYSTEM_URL"]


def test_gateway_upstreams_point_at_each_service_container(compose: dict[str, Any]) -> None:
    env = _env(compose, f"{catalog.GATEWAY.name}-http")
    for spec in catalog.SERVICES:
        if spec is catalog.GATEWAY or not spec.upstream:
            continue
        var = f"ZENOPS_UPSTREAM_{spec.name.upper()}_URL"
        expected = f"http://{_runners(spec)[0]}:{spec.default_port}"
        assert env.get(var) == expected, f"gateway-http {var} is {env.get(var)!r}, expected {expected!r}"


def test_secrets_come_from_the_environment_only(compose: dict[str, Any]) -> None:
    offenders: list[str] = []
    for name in compose["services"]:
        for key, value in _env(compose, name).items():
            is_secret = key.endswith(("_SECRET", "_TOKEN", "_PASSWORD"))
            if is_secret and not SECRET_REF.match(value):
                offenders.append(f"{name}.{key}")
            if key.startswith("ZENOPS_DB_") and key.endswith("_URL") and value and ":?" not in value:
                offenders.append(f"{name}.{key}")
    assert not offenders, f"secrets must be ${{VAR:?}} references, never literals: {offenders}"


# -------------------------------------------------------------------------------------------- kafka


def test_kafka_image_matches_the_pinned_broker_release(compose: dict[str, Any]) -> None:
    major_minor = ".".join(KAFKA_VERSION.split(".")[:2])
    for name in ("kafka", "kafka-topics"):
        image = str(_service(compose, name).get("image", ""))
        repository, _, tag = image.partition(":")
        assert repository == "apache/kafka", f"{name} must use the official apache/kafka image, not {image!r}"
        assert ".".join(tag.split(".")[:2]) == major_minor, (
            f"{name} image {image!r} does not match the embedded broker {KAFKA_VERSION} "
            "(tools/devstack/src/devstack/kafka_artifacts.py)"
        )


def test_kafka_broker_settings_match_the_embedded_node(compose: dict[str, Any], tmp_path: Path) -> None:
    node = KafkaNode(tmp_path)
    # The embedded node's generated server.properties is the reference configuration.
    node._write_configs(node._info())
    props = dict(
        line.split("=", 1)
        for line in node.server_properties.read_text(encoding="utf-8").splitlines()
        if line and not line.startswith("#")
    )
    env = _env(compose, "kafka")
    drift = {
        key: (value, env.get("KAFKA_" + key.upper().replace(".", "_")))
        for key, value in props.items()
        if key not in KAFKA_ADDRESS_KEYS and env.get("KAFKA_" + key.upper().replace(".", "_")) != value
    }
    assert not drift, f"kafka environment differs from devstack.kafka (key: (launcher, compose)): {drift}"
    assert env.get("KAFKA_AUTO_CREATE_TOPICS_ENABLE") == "false"


def test_topic_job_creates_every_catalogue_topic_and_its_dlq(compose: dict[str, Any]) -> None:
    job = _service(compose, "kafka-topics")
    assert job.get("restart") == "no", "kafka-topics is a one-shot job"
    assert any("create-topics.sh" in str(v) for v in job.get("volumes", [])), (
        "kafka-topics must mount the script"
    )
    created = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^create\s+(\S+)\s+(\S+)\s*$", TOPIC_SCRIPT.read_text(encoding="utf-8"), re.M)
    }
    expected: dict[str, str] = {}
    for topic in topics.ALL_TOPICS:
        expected[topic] = "compact" if topic in topics.COMPACTED_TOPICS else "delete"
        expected[topics.dlq(topic)] = "delete"
    missing = sorted(set(expected) - set(created))
    extra = sorted(set(created) - set(expected))
    wrong = {t: (created[t], p) for t, p in expected.items() if t in created and created[t] != p}
    drift = (
        f"{TOPIC_SCRIPT} drifted from shared.contracts.topics: missing {missing}, unknown {extra}, "
        f"cleanup.policy (script, expected) {wrong}"
    )
    assert not missing, drift
    assert not extra, drift
    assert not wrong, drift
    for spec in catalog.SERVICES:
        for container in _runners(spec):
            if container in compose["services"] and spec.has_stream:
                deps = compose["services"][container].get("depends_on") or {}
                assert deps.get("kafka-topics", {}).get("condition") == "service_completed_successfully", (
                    f"{container} must wait for the topic job"
                )


# ----------------------------------------------------------------------------------------- postgres


def test_init_script_provisions_every_schema_and_role(compose: dict[str, Any]) -> None:
    script = INIT_SCRIPT.read_text(encoding="utf-8")
    match = re.search(r'^ZENOPS_DB_SERVICES="([^"]*)"', script, re.M)
    assert match, f"{INIT_SCRIPT} must declare ZENOPS_DB_SERVICES"
    assert match.group(1).split() == list(catalog.db_services()), (
        f"{INIT_SCRIPT} provisions {match.group(1).split()}, catalog.db_services() is {list(catalog.db_services())}"
    )
    from devstack import postgres

    attrs = re.search(r'^ROLE_ATTRS="([^"]*)"', script, re.M)
    assert attrs, "role attributes drifted from devstack.postgres._ROLE_ATTRS: None"
    assert attrs.group(1) == postgres._ROLE_ATTRS, (
        f"role attributes drifted from devstack.postgres._ROLE_ATTRS: {attrs.group(1)}"
    )
    for kind in ("owner", "app", "system"):
        assert f'--set {kind}="${{svc}}_{kind}"' in script, (
            f"{INIT_SCRIPT} does not create the <svc>_{kind} role"
        )
    for statement in ("CREATE SCHEMA", "ALTER DEFAULT PRIVILEGES", "REVOKE ALL ON SCHEMA public FROM PUBLIC"):
        assert statement in script, f"{INIT_SCRIPT} lacks {statement!r} (see devstack.postgres.provision)"

    postgres_service = _service(compose, "postgres")
    image = str(postgres_service.get("image", ""))
    assert re.fullmatch(r"postgres:(17|18)([.-].*)?", image), (
        f"postgres image must be 17 or 18, not {image!r}"
    )
    assert any("docker-entrypoint-initdb.d" in str(v) for v in postgres_service.get("volumes", [])), (
        "postgres must mount deploy/postgres/init as /docker-entrypoint-initdb.d"
    )
    env = _env(compose, "postgres")
    assert env.get("POSTGRES_DB") == "zenops"
    missing = [
        f"ZENOPS_PG_{schema.upper()}_{kind.upper()}_PASSWORD"
        for schema in catalog.db_services()
        for kind in role_names(schema)
        if f"ZENOPS_PG_{schema.upper()}_{kind.upper()}_PASSWORD" not in env
    ]
    assert not missing, f"postgres container lacks the role passwords its init script reads: {missing}"


# ------------------------------------------------------------------------------------------ dockerfile


def test_dockerfile_builds_one_locked_non_root_image() -> None:
    text = DOCKERFILE.read_text(encoding="utf-8")
    assert "uv sync --frozen --no-dev" in text, "the image must install exactly uv.lock, without dev deps"
    assert "system-packages.txt" in text, "the image must install deploy/system-packages.txt (tesseract)"
    users = re.findall(r"^USER\s+(\S+)", text, re.M)
    assert users, "the runtime stage must run as a non-root user"
    assert not users[-1].startswith(("root", "0")), "the runtime stage must run as a non-root user"
    assert len(re.findall(r"^FROM\s", text, re.M)) >= 2, "the Dockerfile must be multi-stage"
    packages = [
        line.strip()
        for line in (DEPLOY / "system-packages.txt").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "tesseract-ocr" in packages
