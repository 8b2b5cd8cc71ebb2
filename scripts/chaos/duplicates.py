"""How many messages were sent twice during the run: what the consumers' inboxes had to absorb.

A relay killed after Kafka acknowledged a batch but before it marked the rows published sends them
again on restart (same envelope, same ``message_id``). Reading every topic from the run's start and
counting the message ids seen more than once gives those re-sends; each consumer group of the topic
absorbs each of them in its inbox. (A consumer killed after its transaction but before its offset
commit re-reads a message too; that redelivery is invisible on the topic, which is why the per-consumer
counter of ``/metrics`` is preferred when the stack has one.)
"""

from __future__ import annotations

import json
from collections import Counter

from aiokafka import AIOKafkaConsumer, TopicPartition

from devstack import catalog

__all__ = ["resent_on_topics"]


async def resent_on_topics(bootstrap: str, since_ms: int) -> Counter[str]:
    """Per topic: records since ``since_ms`` whose envelope ``message_id`` was already on the topic."""
    topics, _ = catalog.kafka_topics()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    await consumer.start()
    counts: Counter[str] = Counter()
    try:
        partitions = [
            TopicPartition(topic, p)
            for topic in topics
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        if not partitions:
            await consumer.topics()  # metadata refresh, then once more
            partitions = [
                TopicPartition(topic, p)
                for topic in topics
                for p in sorted(consumer.partitions_for_topic(topic) or ())
            ]
        if not partitions:
            return counts
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.offsets_for_times(dict.fromkeys(partitions, since_ms))
        pending = set()
        for tp in partitions:
            start = starts.get(tp)
            if start is None or start.offset >= ends[tp]:
                continue
            consumer.seek(tp, start.offset)
            pending.add(tp)
        seen: dict[str, set[str]] = {}
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=2000, max_records=2000)
            if not batches:
                break
            for tp, records in batches.items():
                ids = seen.setdefault(tp.topic, set())
                for record in records:
                    try:
                        message_id = str(json.loads(record.value or b"{}").get("message_id"))
                    except ValueError:
                        continue
                    if message_id in ids:
                        counts[tp.topic] += 1
                    ids.add(message_id)
                    if record.offset + 1 >= ends[tp]:
                        pending.discard(tp)
    finally:
        await consumer.stop()
    return counts
