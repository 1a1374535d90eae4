"""ordered webhooks per account: a subscription may ask for `ordering = 'account'`; its
deliveries then carry the notification's account, and an index finds the oldest pending
delivery of one subscription and account (the one that holds the later ones)"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"

S = "notification_consumer"
# 0010's matching, each branch also giving the account to order by: the notification's
# account for a subscription that orders by account, NULL (unordered) for any other.
_MATCHING = """
        SELECT s.id AS sub, n.id AS note, e.traceparent{account}
        FROM new_notifications n
        JOIN {S}.processed_events e ON e.event_id = n.event_id
        JOIN {S}.webhook_subscriptions s ON s.status = 'active' AND s.account_id = n.account_id
        WHERE s.owner_scope IS NULL OR s.owner_scope = e.owner_scope
        UNION ALL
        SELECT s.id, n.id, e.traceparent{account}
        FROM new_notifications n
        JOIN {S}.processed_events e ON e.event_id = n.event_id
        JOIN {S}.webhook_subscriptions s ON s.status = 'active' AND s.account_id IS NULL
            AND s.owner_scope = e.owner_scope
        UNION ALL
        SELECT s.id, n.id, e.traceparent{account}
        FROM new_notifications n
        JOIN {S}.processed_events e ON e.event_id = n.event_id
        JOIN {S}.webhook_subscriptions s ON s.status = 'active' AND s.account_id IS NULL
            AND s.owner_scope IS NULL"""
ORDERED_ACCOUNT = ", CASE WHEN s.ordering = 'account' THEN n.account_id END AS account"


def _queue_function(ordered: bool) -> str:
    # Runs inside the consumer's batch transaction; nothing in it can fail on a row another
    # request changes: no foreign key, conflicts ignored, subscriptions read, never locked.
    matching = _MATCHING.format(S=S, account=ORDERED_ACCOUNT if ordered else "")
    column, value = (", account_id", ", m.account") if ordered else ("", "")
    return f"""CREATE OR REPLACE FUNCTION {S}.queue_webhook_deliveries() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            IF NOT EXISTS (SELECT 1 FROM {S}.webhook_subscriptions WHERE status = 'active') THEN
                RETURN NULL;
            END IF;
            INSERT INTO {S}.webhook_deliveries (subscription_id, notification_id,
                next_attempt_at, created_at, traceparent{column})
            SELECT m.sub, m.note, clock_timestamp(), clock_timestamp(), m.traceparent{value}
            FROM ({matching}
            ) m
            ON CONFLICT ON CONSTRAINT webhook_delivery_once_per_notification DO NOTHING;
            IF FOUND THEN
                PERFORM pg_notify('webhook_deliveries', '');
            END IF;
            RETURN NULL;
        END $$"""


def upgrade() -> None:
    op.add_column("webhook_subscriptions", sa.Column("ordering", sa.Text()), schema=S)
    op.create_check_constraint("webhook_ordering_known", "webhook_subscriptions",
                               "ordering IS NULL OR ordering = 'account'", schema=S)
    # NULL: unordered. Set only on the deliveries of a subscription ordered by account.
    op.add_column("webhook_deliveries", sa.Column("account_id", sa.Text()), schema=S)
    # Serves the claim's walk over accounts (each account's oldest pending delivery in one
    # probe) and the delivery log's "held by" look-up.
    op.create_index("webhook_deliveries_account_order", "webhook_deliveries",
                    ["subscription_id", "account_id", "notification_id"], schema=S,
                    postgresql_where=sa.text("state = 'pending' AND account_id IS NOT NULL"))
    op.execute(_queue_function(ordered=True))


def downgrade() -> None:
    op.execute(_queue_function(ordered=False))
    op.drop_index("webhook_deliveries_account_order", "webhook_deliveries", schema=S)
    op.drop_column("webhook_deliveries", "account_id", schema=S)
    op.drop_constraint("webhook_ordering_known", "webhook_subscriptions", schema=S,
                       type_="check")
    op.drop_column("webhook_subscriptions", "ordering", schema=S)
