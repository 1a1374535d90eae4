"""Signed webhooks with retries: subscriptions, the delivery outbox, the sender, the SSRF guard.

The delivery outbox is filled by a trigger inside the consumer's batch transaction (migration
0003); the worker here sends it; nothing in this package runs on the consumer's hot path.
"""
