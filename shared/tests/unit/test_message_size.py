"""Message-size limits are set in one place and fit together (issue 12, item 2). No broker needed."""

from __future__ import annotations

from pathlib import Path

from aiokafka.errors import (
    KafkaConnectionError,
    KafkaTimeoutError,
    MessageSizeTooLargeError,
    NotLeaderForPartitionError,
    OutOfOrderSequenceNumber,
    RecordTooLargeError,
    TopicAuthorizationFailedError,
    UnknownTopicOrPartitionError,
)
from aiokafka.record.default_records import DefaultRecordBatchBuilder

from devstack.kafka import KafkaNode
from shared.messaging.kafka import MAX_MESSAGE_BYTES, RELAY_MAX_RECORD_BYTES, make_producer
from shared.messaging.relay import is_permanent


async def test_producer_broker_and_relay_limits_agree(tmp_path: Path) -> None:
    node = KafkaNode(tmp_path)
    node._write_configs(node._info())
    props = dict(
        line.split("=", 1)
        for line in node.server_properties.read_text().splitlines()
        if line and not line.startswith("#")
    )
    assert int(props["message.max.bytes"]) == MAX_MESSAGE_BYTES
    producer = make_producer("127.0.0.1:1", client_id="t")
    assert producer._max_request_size == MAX_MESSAGE_BYTES
    assert RELAY_MAX_RECORD_BYTES < MAX_MESSAGE_BYTES


def test_a_record_the_relay_lets_through_can_still_be_dead_lettered() -> None:
    # The largest record the relay sends, plus the headers a consumer adds for <topic>.dlq.
    key = b"k" * 36
    headers = [("traceparent", b"0" * 55), ("type", b"work_order.created")]
    overhead = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, b"", headers)
    value = b"v" * (RELAY_MAX_RECORD_BYTES - overhead - 8)  # - 8: the length varints grow
    size = DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, headers)
    assert RELAY_MAX_RECORD_BYTES - 16 < size <= RELAY_MAX_RECORD_BYTES
    dlq_headers = [
        *headers,
        ("x-zenops-error", b"e" * 1000),
        ("x-zenops-consumer", b"c" * 100),
        ("x-zenops-attempts", b"5"),
    ]
    assert DefaultRecordBatchBuilder.estimate_size_in_bytes(key, value, dlq_headers) <= MAX_MESSAGE_BYTES


def test_permanent_errors_concern_the_record_not_the_moment() -> None:
    for exc in (MessageSizeTooLargeError(), RecordTooLargeError()):
        assert is_permanent(exc)
    for exc in (
        KafkaConnectionError(),
        KafkaTimeoutError(),
        NotLeaderForPartitionError(),
        UnknownTopicOrPartitionError(),
        TopicAuthorizationFailedError(),
        OutOfOrderSequenceNumber(),
        RuntimeError("db"),
    ):
        assert not is_permanent(exc)
