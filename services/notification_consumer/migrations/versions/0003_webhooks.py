"""webhook subscriptions, the delivery outbox and its attempt log; the triggers that queue
deliveries and fence the live stream

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

S = "notification_consumer"
TZ = sa.DateTime(timezone=True)
# The live stream's fence: writers of notifications hold it shared from before their ids are
# drawn until they commit; the stream takes it exclusively for an instant to learn the id below
# which every notification is committed (see webhooks/stream.py). Same value in the code.
STREAM_FENCE_LOCK = 7_245_015


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Uuid(), primary_key=True,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("owner_scope", sa.Text(), nullable=True),
        sa.Column("account_id", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("previous_secret", sa.Text(), nullable=True),
        sa.Column("previous_secret_expires_at", TZ, nullable=True),
        sa.Column("status", sa.Text(), nullable=False, server_default="active"),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("disabled_at", TZ, nullable=True),
        sa.Column("disabled_reason", sa.Text(), nullable=True),
        sa.Column("created_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.CheckConstraint("status IN ('active', 'disabled')", name="webhook_status_known"),
        schema=S,
    )
    op.create_index("webhook_subscriptions_owner", "webhook_subscriptions",
                    ["owner_scope", "created_at"], schema=S)
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("subscription_id", sa.Uuid(),
                  sa.ForeignKey(f"{S}.webhook_subscriptions.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("notification_id", sa.BigInteger(), nullable=False),
        sa.Column("message_id", sa.Uuid(), nullable=False,
                  server_default=sa.text("gen_random_uuid()")),
        sa.Column("state", sa.Text(), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        # Also the claim's lease: a claimed row is due again when its lease runs out.
        sa.Column("next_attempt_at", TZ, nullable=False),
        # NULL = created_at + WEBHOOK_RETRY_WINDOW_S; a manual redeliver sets a fresh window.
        sa.Column("expires_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
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
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("delivery_id", sa.BigInteger(),
                  sa.ForeignKey(f"{S}.webhook_deliveries.id", ondelete="CASCADE"),
                  nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=False),
        sa.Column("response_excerpt", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempted_at", TZ, nullable=False, server_default=sa.text("now()")),
        schema=S,
    )
    op.create_index("webhook_attempts_delivery", "webhook_attempts", ["delivery_id", "id"],
                    schema=S)
    # Set-based and inside the consumer's batch transaction: the deliveries commit (or roll
    # back) with the notifications that imply them, so each is queued exactly once. With no
    # active subscription it costs one index probe per batch.
    op.execute(f"""
        CREATE FUNCTION {S}.queue_webhook_deliveries() RETURNS trigger
        LANGUAGE plpgsql AS $$
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
        END $$
    """)
    op.execute(f"""
        CREATE TRIGGER queue_webhook_deliveries AFTER INSERT ON {S}.notifications
        REFERENCING NEW TABLE AS new_notifications
        FOR EACH STATEMENT EXECUTE FUNCTION {S}.queue_webhook_deliveries()
    """)
    op.execute(f"""
        CREATE FUNCTION {S}.fence_notification_stream() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_advisory_xact_lock_shared({STREAM_FENCE_LOCK});
            RETURN NULL;
        END $$
    """)
    op.execute(f"""
        CREATE TRIGGER fence_notification_stream BEFORE INSERT ON {S}.notifications
        FOR EACH STATEMENT EXECUTE FUNCTION {S}.fence_notification_stream()
    """)


def downgrade() -> None:
    op.execute(f"DROP TRIGGER IF EXISTS fence_notification_stream ON {S}.notifications")
    op.execute(f"DROP TRIGGER IF EXISTS queue_webhook_deliveries ON {S}.notifications")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.fence_notification_stream()")
    op.execute(f"DROP FUNCTION IF EXISTS {S}.queue_webhook_deliveries()")
    for table in ("webhook_attempts", "webhook_deliveries", "webhook_subscriptions"):
        op.drop_table(table, schema=S)

