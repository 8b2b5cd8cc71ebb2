"""DDL of the messaging tables every service schema carries (outbox, inbox, versions, parking)."""

from __future__ import annotations

# An unsendable row is an outbox row moved aside: both tables carry the message the same way.
_MESSAGE_COLUMNS = """message_id UUID NOT NULL UNIQUE,
            topic TEXT NOT NULL,
            key TEXT NOT NULL,
            envelope JSONB NOT NULL,
            headers JSONB NOT NULL DEFAULT '{}'::jsonb,"""


def messaging_tables_sql(schema: str) -> list[str]:
    """Statements creating the outbox, inbox, aggregate-version and parking tables in ``schema``."""
    s = schema
    return [
        f"""CREATE TABLE {s}.outbox (
            id BIGSERIAL PRIMARY KEY,
            {_MESSAGE_COLUMNS}
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            published_at TIMESTAMPTZ
        )""",
        f"CREATE INDEX outbox_unpublished_idx ON {s}.outbox (id) WHERE published_at IS NULL",
        f"""CREATE TABLE {s}.inbox (
            consumer TEXT NOT NULL,
            message_id UUID NOT NULL,
            topic TEXT NOT NULL,
            message_type TEXT NOT NULL,
            outcome TEXT NOT NULL DEFAULT 'applied',
            processed_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (consumer, message_id)
        )""",
        f"""CREATE TABLE {s}.consumer_versions (
            consumer TEXT NOT NULL,
            topic TEXT NOT NULL,
            aggregate_id TEXT NOT NULL,
            aggregate_version BIGINT NOT NULL,
            PRIMARY KEY (consumer, topic, aggregate_id)
        )""",
        f"""CREATE TABLE {s}.parked_messages (
            id BIGSERIAL PRIMARY KEY,
            consumer TEXT NOT NULL,
            topic TEXT NOT NULL,
            key TEXT NOT NULL,
            message_id UUID NOT NULL,
            envelope JSONB NOT NULL,
            dead_lettered BOOLEAN NOT NULL DEFAULT false,
            error TEXT,
            parked_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            UNIQUE (consumer, message_id)
        )""",
        f"CREATE INDEX parked_messages_key_idx ON {s}.parked_messages (consumer, topic, key, id)",
        f"""CREATE TABLE {s}.idempotency_keys (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            status_code INT NOT NULL,
            response JSONB NOT NULL,
            headers JSONB NOT NULL DEFAULT '{{}}'::jsonb,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
            PRIMARY KEY (scope, key)
        )""",
    ]


def unsendable_tables_sql(schema: str) -> list[str]:
    """The table the relay moves permanently unsendable outbox rows into (migration 0002).

    ``id`` is the row's original outbox id, so a replayed message keeps its place before the rows of
    its key that wait behind it. ``reason`` says why it was moved (``too_large`` or the broker's
    error class), ``detail`` the message, ``size_bytes`` the record size the relay computed.
    """
    s = schema
    return [
        f"""CREATE TABLE {s}.unsendable_messages (
            id BIGINT PRIMARY KEY,
            {_MESSAGE_COLUMNS}
            created_at TIMESTAMPTZ NOT NULL,
            reason TEXT NOT NULL,
            detail TEXT,
            size_bytes BIGINT,
            attempts INT NOT NULL DEFAULT 1,
            moved_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""",
        f"CREATE INDEX unsendable_messages_key_idx ON {s}.unsendable_messages (topic, key, id)",
        # the relay's "is this key blocked?" probe and the parked-behind count read the outbox by key
        f"CREATE INDEX outbox_unpublished_key_idx ON {s}.outbox (topic, key, id) WHERE published_at IS NULL",
    ]


def unsendable_drop_sql(schema: str) -> list[str]:
    return [
        f"DROP INDEX IF EXISTS {schema}.outbox_unpublished_key_idx",
        f"DROP TABLE IF EXISTS {schema}.unsendable_messages",
    ]


def ops_tables_sql(schema: str) -> list[str]:
    """What the ops routes read and write (issue 17, migration 0002 of every service).

    * the inbox keeps what a work order's story needs of each consumed message: its Kafka ``key``,
      ``aggregate_id`` and ``aggregate_version``, the ``work_order_id`` of its payload and the
      envelope's ``traceparent``;
    * indexes for the story's lookups by work order over the outbox and the inbox;
    * ``ops_actions``: the audit of every ops write (replay, discard), one row per attempt, ``done``
      once the target left its parking (what makes a repeated request change nothing).
    """
    s = schema
    return [
        f"ALTER TABLE {s}.inbox ADD COLUMN IF NOT EXISTS key TEXT, "
        "ADD COLUMN IF NOT EXISTS aggregate_id TEXT, ADD COLUMN IF NOT EXISTS work_order_id TEXT, "
        "ADD COLUMN IF NOT EXISTS traceparent TEXT, ADD COLUMN IF NOT EXISTS aggregate_version BIGINT",
        f"CREATE INDEX IF NOT EXISTS inbox_work_order_idx ON {s}.inbox (work_order_id, processed_at)",
        f"CREATE INDEX IF NOT EXISTS inbox_aggregate_idx ON {s}.inbox (aggregate_id, processed_at)",
        f"CREATE INDEX IF NOT EXISTS inbox_processed_idx ON {s}.inbox (processed_at)",
        f"CREATE INDEX IF NOT EXISTS outbox_aggregate_idx ON {s}.outbox ((envelope->>'aggregate_id'))",
        f"CREATE INDEX IF NOT EXISTS outbox_work_order_idx ON {s}.outbox ((envelope->'payload'->>'work_order_id'))",
        f"""CREATE TABLE IF NOT EXISTS {s}.ops_actions (
            id BIGSERIAL PRIMARY KEY,
            action TEXT NOT NULL,
            target TEXT NOT NULL,
            actor TEXT NOT NULL,
            request_id TEXT,
            done BOOLEAN NOT NULL,
            outcome JSONB NOT NULL,
            created_at TIMESTAMPTZ NOT NULL DEFAULT now()
        )""",
        f"CREATE INDEX IF NOT EXISTS ops_actions_target_idx ON {s}.ops_actions (target, id)",
    ]


def ops_drop_sql(schema: str) -> list[str]:
    s = schema
    return [
        f"DROP TABLE IF EXISTS {s}.ops_actions",
        f"DROP INDEX IF EXISTS {s}.outbox_work_order_idx",
        f"DROP INDEX IF EXISTS {s}.outbox_aggregate_idx",
        f"DROP INDEX IF EXISTS {s}.inbox_processed_idx",
        f"DROP INDEX IF EXISTS {s}.inbox_aggregate_idx",
        f"DROP INDEX IF EXISTS {s}.inbox_work_order_idx",
        f"ALTER TABLE {s}.inbox DROP COLUMN IF EXISTS key, DROP COLUMN IF EXISTS aggregate_id, "
        "DROP COLUMN IF EXISTS work_order_id, DROP COLUMN IF EXISTS traceparent, DROP COLUMN IF EXISTS aggregate_version",
    ]


def messaging_drop_sql(schema: str) -> list[str]:
    return [
        f"DROP TABLE IF EXISTS {schema}.{t}"
        for t in ("idempotency_keys", "parked_messages", "consumer_versions", "inbox", "outbox")
    ]


#: the consumer counter of redeliveries the inbox absorbed (``/metrics``: ``zenops_consumer_duplicates_total``)
DUPLICATES = "duplicates"


def counters_tables_sql(schema: str) -> list[str]:
    """Monotonic per-consumer counters the stream process keeps and ``/metrics`` reads (issue 19 item 2:
    the duplicates an inbox absorbed). Incremented in the transaction that absorbed them; never reset
    (inbox rows expire after the retention, the counter does not)."""
    return [
        f"""CREATE TABLE IF NOT EXISTS {schema}.consumer_counters (
            consumer TEXT NOT NULL,
            name TEXT NOT NULL,
            value BIGINT NOT NULL DEFAULT 0,
            PRIMARY KEY (consumer, name)
        )""",
    ]


def counters_drop_sql(schema: str) -> list[str]:
    return [f"DROP TABLE IF EXISTS {schema}.consumer_counters"]
