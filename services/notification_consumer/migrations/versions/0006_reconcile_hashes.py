"""reconciliation hashes: each processed event's id and payload hashes, stored, and an index
by event time that covers them (it replaces 0005's plain occurred_at index)"""

from payment_events.digest import stored_hashes
from service_kit.migration_ops import covering_columns

revision = "0006"
down_revision = "0005"

upgrade, downgrade = covering_columns("notification_consumer", "processed_events",
                                      stored_hashes("occurred_at"), on="occurred_at",
                                      index="processed_events_reconcile")
