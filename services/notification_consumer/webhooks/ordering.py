"""Ordered delivery per account (`ordering = 'account'`): one account's deliveries to a
subscription go one at a time, in notification id order.

A subscription's deliveries carry the account only when it orders by account. The oldest
pending delivery of an account (by notification id) is its head: only a head is ever claimed,
so while it is in its lease or waits for its retry, the account's later deliveries wait too;
once it is delivered or given up (failed), the next one is the head. Other accounts, and
other subscriptions, are not held.

The claim finds heads by walking the subscription's accounts through the index on
(subscription_id, account_id, notification_id) of pending deliveries: one probe per account,
at most WALK accounts per subscription and claim, from a random pending account onwards and
round to where it began, so a crowd of accounts waiting for retries cannot make a claim
costly, and each account's turn comes.
"""

from notification_consumer.store.batch_sql import S

WALK = 256  # accounts looked at per ordered subscription and claim

_PENDING = "subscription_id = s.id AND state = 'pending'"
_HEAD = f"""SELECT account_id, id, next_attempt_at <= now() AS due
            FROM {S}.webhook_deliveries"""
# The due heads of subscription `s` (a column of the enclosing query), at most :per_sub.
DUE_HEADS = f"""ARRAY(
    WITH RECURSIVE bounds AS MATERIALIZED (  -- (subscription_id, id): the pending index
        SELECT (SELECT id FROM {S}.webhook_deliveries WHERE {_PENDING}
                ORDER BY subscription_id, id LIMIT 1) AS lo,
               (SELECT id FROM {S}.webhook_deliveries WHERE {_PENDING}
                ORDER BY subscription_id DESC, id DESC LIMIT 1) AS hi
    ), spot AS MATERIALIZED (  -- drawn once: random() in a WHERE is drawn per row
        SELECT CAST(lo + floor(random() * (hi - lo + 1)) AS bigint) AS id FROM bounds
    ), pivot AS MATERIALIZED (
        SELECT COALESCE((SELECT account_id FROM {S}.webhook_deliveries
                         WHERE {_PENDING} AND id >= spot.id
                         ORDER BY subscription_id, id LIMIT 1), '') AS account
        FROM spot
    ), walk(account, head, due, lap, step, pivot) AS (
        (SELECT h.account_id, h.id, h.due, 1, 1, pivot.account FROM pivot CROSS JOIN LATERAL (
            {_HEAD} WHERE {_PENDING} AND account_id >= pivot.account
            ORDER BY account_id, notification_id LIMIT 1) h)
        UNION ALL
        SELECT n.account_id, n.id, n.due, n.lap, walk.step + 1, walk.pivot
        FROM walk CROSS JOIN LATERAL (
            (SELECT h.*, walk.lap AS lap FROM ({_HEAD}
                WHERE {_PENDING} AND account_id > walk.account
                ORDER BY account_id, notification_id LIMIT 1) h)
            UNION ALL
            (SELECT h.*, 2 FROM ({_HEAD}
                WHERE walk.lap = 1 AND {_PENDING} AND account_id IS NOT NULL
                ORDER BY account_id, notification_id LIMIT 1) h)
            LIMIT 1
        ) n
        WHERE walk.step < {WALK} AND NOT (n.lap = 2 AND n.account_id >= walk.pivot)
    )
    SELECT head FROM walk WHERE due LIMIT :per_sub
)"""

# For the delivery log: the head that holds pending delivery `d` of an ordered subscription.
HELD_BY = f"""CASE WHEN d.state = 'pending' AND d.account_id IS NOT NULL THEN (
        SELECT h.id FROM {S}.webhook_deliveries h
        WHERE h.subscription_id = d.subscription_id AND h.state = 'pending'
            AND h.account_id = d.account_id AND h.notification_id < d.notification_id
        ORDER BY h.notification_id LIMIT 1) END AS held_by"""
