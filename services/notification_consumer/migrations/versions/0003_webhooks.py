"""webhook subscriptions, the delivery outbox and its attempt log; the triggers that queue
deliveries and fence the live stream"""

import sqlalchemy as sa
from alembic import op

from service_kit.migration_ops import (
    TZ,
    counters,
    drop_statement_trigger,
    optional,
    owned_by,
    required,
    serial_id,
    statement_trigger,
    written_at,
)

revision = "0003"
down_revision = "0002"

S = "notification_consumer"
# The live stream's fence: writers of notifications hold it shared from before their ids are
# drawn until they commit; the stream takes it exclusively for an instant to learn the id below
# which every notification is committed (see webhooks/stream.py). Same value in the code.
STREAM_FENCE_LOCK = 7_245_015


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        *optional(owner_scope=sa.Text, account_id=sa.Text),
        *required(url=sa.Text),
        *optional(description=sa.Text),
        *required(secret=sa.Text),
        *optional(previous_secret=sa.Text, previous_secret_expires_at=TZ),
        sa.Column("status", sa.Text(), nullable=False, server_default="active"),
        *counters("consecutive_failures"),
        *optional(disabled_at=TZ, disabled_reason=sa.Text),
        written_at(),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="webhook_status_known"),
        schema=S,
    )
    op.create_index("webhook_subscriptions_owner", "webhook_subscriptions",
                    ["owner_scope", "created_at"], schema=S)
    op.create_table(
        "webhook_deliveries",
        serial_id(),
        owned_by("subscription_id", sa.Uuid(), f"{S}.webhook_subscriptions.id"),
        *required(notification_id=sa.BigInteger),
        sa.Column("message_id", sa.Uuid(), nullable=False,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("state", sa.Text(), nullable=False, server_default="pending"),
        *counters("attempts"),
        # Also the claim's lease: a claimed row is due again when its lease runs out.
        *required(next_attempt_at=TZ),
        # NULL = created_at + WEBHOOK_RETRY_WINDOW_S; a manual redeliver sets a fresh window.
        *optional(expires_at=TZ),
        *required(created_at=TZ),
        *optional(delivered_at=TZ, last_status=sa.Integer, last_error=sa.Text),
        sa.UniqueConstraint("subscription_id", "notification_id",
                            name="webhook_delivery_once_per_notification"),
        sa.CheckConstraint("state IN ('pending', 'delivered', 'failed')",
                           name="webhook_delivery_state_known"),
        schema=S,
    )
    op.create_index("webhook_deliveries_due", "webhook_deliveries",
                    ["subscription_id", "next_attempt_at", "id"], schema=S,
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_index("webhook_deliveries_pending", "webhook_deliveries",
                    ["subscription_id", "id"], schema=S,
                    postgresql_where=sa.text("state = 'pending'"))
    op.create_table(
        "webhook_attempts",
        serial_id(),
        owned_by("delivery_id", sa.BigInteger(), f"{S}.webhook_deliveries.id"),
        *required(attempt=sa.Integer, url=sa.Text),
        *optional(address=sa.Text, status_code=sa.Integer),
        *required(latency_ms=sa.Float),
        *optional(response_excerpt=sa.Text, error=sa.Text),
        written_at("attempted_at"),
        schema=S,
    )
    op.create_index("webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"],
                    schema=S)
    # Set-based and inside the consumer's batch transaction: the deliveries commit (or roll
    # back) with the notifications that imply them, so each is queued exactly once. With no
    # active subscription it costs one index probe per batch.
    statement_trigger(S, "notifications", "queue_webhook_deliveries", "AFTER INSERT", f"""
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM {S}.webhook_subscriptions WHERE status = 'active') THEN
                RETURN NULL;
            END IF;
            INSERT INTO {S}.webhook_deliveries (subscription_id, notification_id,
                next_attempt_at, created_at)
            SELECT s.id, n.id, clock_timestamp(), clock_timestamp()
            FROM new_notifications n
            JOIN {S}.processed_events e ON e.event_id = n.event_id
            JOIN {S}.webhook_subscriptions s ON s.status = 'active'
                AND (s.account_id IS NULL OR s.account_id = n.account_id)
                AND (s.owner_scope IS NULL OR s.owner_scope = e.owner_scope)
            ON CONFLICT ON CONSTRAINT webhook_delivery_once_per_notification DO NOTHING;
            IF FOUND THEN
                PERFORM pg_notify('webhook_deliveries', '');
            END IF;
            RETURN NULL;
        END """, referencing="REFERENCING NEW TABLE AS new_notifications")
    statement_trigger(S, "notifications", "fence_notification_stream", "BEFORE INSERT", f"""
        BEGIN
            PERFORM pg_advisory_xact_lock_shared({STREAM_FENCE_LOCK});
            RETURN NULL;
        END """)


def downgrade() -> None:
    for trigger in ("fence_notification_stream", "queue_webhook_deliveries"):
        drop_statement_trigger(S, "notifications", trigger)
    for table in ("webhook_attempts", "webhook_deliveries", "webhook_subscriptions"):
        op.drop_table(table, schema=S)

