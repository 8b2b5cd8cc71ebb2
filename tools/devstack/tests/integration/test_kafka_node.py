"""The embedded single-node Kafka: start, topics, produce/consume, stop, restart with data kept.

These tests start a real broker and fail (never skip) when it cannot start.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from devstack.kafka import KafkaNode, KafkaNodeError, _new_cluster_id, ensure_jars, ensure_topics
from devstack.kafka_artifacts import ARTIFACTS

TOPIC = "devstack.probe"
# Generous: the broker needs ~4 s on an idle 2-core box but several times that when the box is busy.
START_TIMEOUT = 180.0
COMPACTED = "devstack.snapshots"


@pytest.fixture
async def node(tmp_path: Path) -> AsyncIterator[KafkaNode]:
    kafka = KafkaNode(tmp_path / "state")
    try:
        yield kafka
    finally:
        await asyncio.to_thread(kafka.stop)


async def _produce(bootstrap: str, topic: str, key: bytes, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(topic, value, key=key, partition=0)
    finally:
        await producer.stop()


async def _read_partition(bootstrap: str, topic: str, partition: int = 0) -> list[tuple[bytes, bytes]]:
    """Everything currently in one partition, from the beginning to the end offset."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, partition)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[tuple[bytes, bytes]] = []
        while await consumer.position(tp) < end:
            batch = await consumer.getmany(tp, timeout_ms=5000)
            for record in batch.get(tp, []):
                records.append((record.key, record.value))
        return records
    finally:
        await consumer.stop()


async def _topic_configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        responses = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
        entries = responses[0].to_object()["resources"][0]["config_entries"]
        return {entry["config_names"]: entry["config_value"] for entry in entries}
    finally:
        await admin.close()


async def _list_topics(bootstrap: str) -> set[str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        return set(await admin.list_topics())
    finally:
        await admin.close()


class TestJars:
    def test_cached_jars_match_the_pinned_list(self) -> None:
        libs = ensure_jars()

        assert sorted(p.name for p in libs.glob("*.jar")) == sorted(a.filename for a in ARTIFACTS)


class TestClusterId:
    def test_ids_never_look_like_an_option(self) -> None:
        # The storage tool parses "-t -abc..." as a missing argument: a leading "-" broke formatting.
        ids = [_new_cluster_id() for _ in range(2000)]

        assert all(len(i) == 22 and not i.startswith("-") for i in ids)


class TestKafkaNode:
    async def test_restart_keeps_port_and_data(self, node: KafkaNode) -> None:
        bootstrap = await asyncio.to_thread(node.start, timeout=START_TIMEOUT)

        assert node.is_running()
        node_json = json.loads(node.node_file.read_text())
        assert bootstrap == f"127.0.0.1:{node_json['port']}"

        await ensure_topics(bootstrap, [TOPIC, COMPACTED], compacted={COMPACTED})
        await ensure_topics(bootstrap, [TOPIC])  # already there: no error
        topics = await _list_topics(bootstrap)
        assert {TOPIC, f"{TOPIC}.dlq", COMPACTED, f"{COMPACTED}.dlq"} <= topics
        assert (await _topic_configs(bootstrap, COMPACTED))["cleanup.policy"] == "compact"
        assert (await _topic_configs(bootstrap, f"{COMPACTED}.dlq"))["cleanup.policy"] == "delete"

        await _produce(bootstrap, TOPIC, b"k1", b"kept across restarts")
        assert await _read_partition(bootstrap, TOPIC) == [(b"k1", b"kept across restarts")]

        pid = node.pid_file.read_text()
        # Idempotent: a running broker is left alone.
        assert await asyncio.to_thread(node.start, timeout=START_TIMEOUT) == bootstrap
        assert node.pid_file.read_text() == pid

        await asyncio.to_thread(node.stop)
        assert not node.is_running()
        assert not node.pid_file.exists()

        assert await asyncio.to_thread(node.start, timeout=START_TIMEOUT) == bootstrap
        assert node.is_running()
        assert json.loads(node.node_file.read_text()) == node_json
        assert await _read_partition(bootstrap, TOPIC) == [(b"k1", b"kept across restarts")]

    async def test_start_failure_reports_the_log_tail(self, node: KafkaNode) -> None:
        port = int(node.bootstrap.rsplit(":", 1)[1])
        # Something else holding the client port makes the broker exit at start.
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
            squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            squatter.bind(("127.0.0.1", port))
            squatter.listen()
            with pytest.raises(KafkaNodeError, match=r"exited during start[\s\S]*kafka-server\.log"):
                await asyncio.to_thread(node.start, timeout=START_TIMEOUT)

        assert not node.is_running()
