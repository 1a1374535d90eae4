package main

// The notification consumer's own statements (services/notification_consumer/store/
// write_path.py and batch_sql.py), against its own tables in the database our migrations
// created: the same columns, indexes, stored hash columns, statement triggers (webhook queue,
// stream fence), fenced offsets and counters row. Only the staging table's name differs.

const createStage = `
CREATE TEMP TABLE IF NOT EXISTS peer_event_stage (
    event_id uuid, payer_id text, payee_id text, amount text, currency text,
    description text, occurred_at timestamptz, topic text, partition int,
    "offset" bigint, payload_hash text, trace_id text, owner_scope text
) ON COMMIT DELETE ROWS`

var stageColumns = []string{"event_id", "payer_id", "payee_id", "amount", "currency",
	"description", "occurred_at", "topic", "partition", "offset", "payload_hash", "trace_id",
	"owner_scope"}

// The batch's new events and, for exactly those, the debit and credit notifications.
const insertFromStage = `
WITH new AS (
    INSERT INTO notification_consumer.processed_events (event_id, payer_id, payee_id, amount,
        currency, description, occurred_at, topic, partition, "offset", payload_hash, trace_id,
        owner_scope)
    SELECT event_id, payer_id, payee_id, CAST(amount AS numeric), currency, description,
        occurred_at, topic, partition, "offset", payload_hash, trace_id, owner_scope
    FROM pg_temp.peer_event_stage
    ON CONFLICT (event_id) DO NOTHING
    RETURNING event_id, payer_id, payee_id, amount, currency
), notes AS (
    INSERT INTO notification_consumer.notifications (event_id, account_id, kind, amount,
        currency, counterparty_id)
    SELECT event_id, payer_id, 'debit', amount, currency, payee_id FROM new
    UNION ALL
    SELECT event_id, payee_id, 'credit', amount, currency, payer_id FROM new
)
SELECT event_id FROM new`

// For events already stored: a repeat (same hash) or a conflict (other bytes).
const existingHashes = `
SELECT event_id, payload_hash FROM notification_consumer.processed_events
WHERE event_id = ANY($1)`

// Taking the partitions on assignment, as the consumer does (store.claim).
const claimPartitions = `
INSERT INTO notification_consumer.consumer_offsets AS o (group_id, topic, partition,
    next_offset, generation, member_id)
SELECT $1::text, $2::text, p, NULL, $3::int, $4::text FROM unnest($5::int[]) AS p
ON CONFLICT (group_id, topic, partition) DO UPDATE
    SET generation = EXCLUDED.generation, member_id = EXCLUDED.member_id, updated_at = now()
    WHERE o.generation IS NULL OR o.generation <= EXCLUDED.generation
        OR o.updated_at < now() - make_interval(secs => 600)
RETURNING partition`

// Only the claimed owner moves an offset (store.store_offsets); a partition not returned
// means the batch is fenced and rolls back.
const storeOffsets = `
UPDATE notification_consumer.consumer_offsets AS o
SET next_offset = GREATEST(o.next_offset, b.o), updated_at = now()
FROM unnest($2::int[], $3::bigint[]) AS b(p, o)
WHERE o.group_id = $1 AND o.topic = $4 AND o.partition = b.p
    AND o.generation = $5 AND o.member_id = $6
RETURNING o.partition`

const countBatch = `
INSERT INTO notification_consumer.consumer_counters AS c (group_id, processed, duplicates,
    dead_letters)
VALUES ($1, $2, $3, 0)
ON CONFLICT (group_id) DO UPDATE SET processed = c.processed + EXCLUDED.processed,
    duplicates = c.duplicates + EXCLUDED.duplicates,
    dead_letters = c.dead_letters + EXCLUDED.dead_letters`
