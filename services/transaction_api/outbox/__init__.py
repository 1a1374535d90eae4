"""The request row (idempotency + outbox), the publish after commit, the relay, expiry."""
