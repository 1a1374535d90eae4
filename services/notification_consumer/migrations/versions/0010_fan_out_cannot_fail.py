"""fan-out that cannot fail a batch: deliveries no longer reference their subscription by a
foreign key (a concurrent DELETE cannot break the consumer's insert), and the trigger matches
notifications to subscriptions through indexes by account and by owner"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"

S = "notification_consumer"
FK = "webhook_deliveries_subscription_id_fkey"
# The three ways a subscription matches, each an equality an index serves: its account, or
# (no account) its owner's payments, or (no account, no owner: open mode) everything.
MATCHING = f"""
        SELECT s.id AS sub, n.id AS note, e.traceparent
        FROM new_notifications n
        JOIN {S}.processed_events e ON e.event_id = n.event_id
        JOIN {S}.webhook_subscriptions s ON s.status = 'active' AND s.account_id = n.account_id
        WHERE s.owner_scope IS NULL OR s.owner_scope = e.owner_scope
        UNION ALL
        SELECT s.id, n.id, e.traceparent
        FROM new_notifications n
        JOIN {S}.processed_events e ON e.event_id = n.event_id
        JOIN {S}.webhook_subscriptions s ON s.status = 'active' AND s.account_id IS NULL
            AND s.owner_scope = e.owner_scope
        UNION ALL
        SELECT s.id, n.id, e.traceparent
        FROM new_notifications n
        JOIN {S}.processed_events e ON e.event_id = n.event_id
        JOIN {S}.webhook_subscriptions s ON s.status = 'active' AND s.account_id IS NULL
            AND s.owner_scope IS NULL"""
OLD_MATCHING = f"""
        SELECT s.id AS sub, n.id AS note, e.traceparent
        FROM new_notifications n
        JOIN {S}.processed_events e ON e.event_id = n.event_id
        JOIN {S}.webhook_subscriptions s ON s.status = 'active'
            AND (s.account_id IS NULL OR s.account_id = n.account_id)
            AND (s.owner_scope IS NULL OR s.owner_scope = e.owner_scope)"""


def _queue_function(matching: str) -> str:
    # Runs inside the consumer's batch transaction; nothing in it can fail on a row another
    # request changes: no foreign key, conflicts ignored, subscriptions read, never locked.
    return f"""CREATE OR REPLACE FUNCTION {S}.queue_webhook_deliveries() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM {S}.webhook_subscriptions WHERE status = 'active') THEN
                RETURN NULL;
            END IF;
            INSERT INTO {S}.webhook_deliveries (subscription_id, notification_id,
                next_attempt_at, created_at, traceparent)
            SELECT m.sub, m.note, clock_timestamp(), clock_timestamp(), m.traceparent
            FROM ({matching}
            ) m
            ON CONFLICT ON CONSTRAINT webhook_delivery_once_per_notification DO NOTHING;
            IF FOUND THEN
                PERFORM pg_notify('webhook_deliveries', '');
            END IF;
            RETURN NULL;
        END $$"""


def upgrade() -> None:
    op.drop_constraint(FK, "webhook_deliveries", schema=S, type_="foreignkey")
    op.create_index("webhook_subscriptions_account", "webhook_subscriptions", ["account_id"],
                    schema=S, postgresql_where=sa.text(
                        "status = 'active' AND account_id IS NOT NULL"))
    op.create_index("webhook_subscriptions_wildcard", "webhook_subscriptions", ["owner_scope"],
                    schema=S, postgresql_where=sa.text(
                        "status = 'active' AND account_id IS NULL"))
    op.execute(_queue_function(MATCHING))


def downgrade() -> None:
    op.execute(_queue_function(OLD_MATCHING))
    op.drop_index("webhook_subscriptions_wildcard", "webhook_subscriptions", schema=S)
    op.drop_index("webhook_subscriptions_account", "webhook_subscriptions", schema=S)
    op.execute(f"""DELETE FROM {S}.webhook_deliveries d WHERE NOT EXISTS (
        SELECT 1 FROM {S}.webhook_subscriptions s WHERE s.id = d.subscription_id)""")
    op.create_foreign_key(FK, "webhook_deliveries", "webhook_subscriptions",
                          ["subscription_id"], ["id"], source_schema=S, referent_schema=S,
                          ondelete="CASCADE")
