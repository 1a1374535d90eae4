"""reconciliation hashes: each payment's id and payload hashes, stored, and an index by time
that covers them, so a day of per-minute buckets is a sum over an index (it replaces 0003's
plain created_at index)"""

from payment_events.digest import stored_hashes
from service_kit.migration_ops import covering_columns

revision = "0004"
down_revision = "0003"

upgrade, downgrade = covering_columns("transaction_api", "payment_requests",
                                      stored_hashes("created_at"), on="created_at",
                                      index="payment_requests_reconcile")
