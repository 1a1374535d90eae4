"""each processed event keeps its W3C traceparent, and the webhook deliveries it queues carry
it, so a delivery's HTTP request continues the payment's trace"""

import sqlalchemy as sa
from alembic import op

from service_kit.migration_ops import drop_statement_trigger, statement_trigger

revision = "0008"
down_revision = "0007"

S = "notification_consumer"
# 0003's body, plus the event's traceparent on each delivery.
_QUEUE = """
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM {S}.webhook_subscriptions WHERE status = 'active') THEN
                RETURN NULL;
            END IF;
            INSERT INTO {S}.webhook_deliveries (subscription_id, notification_id,
                next_attempt_at, created_at{column})
            SELECT s.id, n.id, clock_timestamp(), clock_timestamp(){value}
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
        END """


def _queue_trigger(body: str) -> None:
    drop_statement_trigger(S, "notifications", "queue_webhook_deliveries")
    statement_trigger(S, "notifications", "queue_webhook_deliveries", "AFTER INSERT", body,
                      referencing="REFERENCING NEW TABLE AS new_notifications")


def upgrade() -> None:
    op.add_column("processed_events", sa.Column("traceparent", sa.Text()), schema=S)
    op.add_column("webhook_deliveries", sa.Column("traceparent", sa.Text()), schema=S)
    _queue_trigger(_QUEUE.format(S=S, column=", traceparent", value=", e.traceparent"))


def downgrade() -> None:
    _queue_trigger(_QUEUE.format(S=S, column="", value=""))
    op.drop_column("webhook_deliveries", "traceparent", schema=S)
    op.drop_column("processed_events", "traceparent", schema=S)
