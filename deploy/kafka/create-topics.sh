#!/usr/bin/env bash
# One-shot topic creation (the broker runs with auto.create.topics.enable=false), run by the
# `kafka-topics` job in deploy/compose.yaml with the broker image's own CLI.
#
# Mirrors devstack.kafka.ensure_topics as the launcher calls it: every topic of
# shared.contracts.topics.ALL_TOPICS plus its <topic>.dlq, 3 partitions, replication factor 1;
# topics of COMPACTED_TOPICS get cleanup.policy=compact, dead-letter topics keep delete (every failed
# message is retained). tests/deploy/test_compose_in_step.py fails when this list drifts.
set -euo pipefail

BOOTSTRAP="${KAFKA_BOOTSTRAP:-kafka:9092}"
PARTITIONS="${KAFKA_TOPIC_PARTITIONS:-3}"
KAFKA_TOPICS=/opt/kafka/bin/kafka-topics.sh

# create <topic> <cleanup.policy>
create() {
    "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
        --topic "$1" --partitions "$PARTITIONS" --replication-factor 1 --config "cleanup.policy=$2"
}

# Wait until the broker answers (the compose healthcheck covers most of it; this covers restarts).
for _ in $(seq 1 60); do
    "$KAFKA_TOPICS" --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1 && break
    sleep 2
done

create workorders.work-order.v1 delete
create workorders.work-order.v1.dlq delete
create evidence.work-order-evidence.v1 delete
create evidence.work-order-evidence.v1.dlq delete
create evidence.ocr-jobs.v1 delete
create evidence.ocr-jobs.v1.dlq delete
create evidence.documents.v1 compact
create evidence.documents.v1.dlq delete
create billing.work-order-billing.v1 compact
create billing.work-order-billing.v1.dlq delete
create billing.gate-outcome.v1 delete
create billing.gate-outcome.v1.dlq delete
create billing.account-status.v1 compact
create billing.account-status.v1.dlq delete
create factory.pack.v1 delete
create factory.pack.v1.dlq delete
create factory.release-requested.v1 delete
create factory.release-requested.v1.dlq delete
create factory.generation-jobs.v1 delete
create factory.generation-jobs.v1.dlq delete
create v1.billing-events.v1 delete
create v1.billing-events.v1.dlq delete

echo "topics ready"
