"""reconciliation: processed events by event time, so a recent window is read, not the table"""

from service_kit.migration_ops import time_index

revision = "0005"
down_revision = "0004"

upgrade, downgrade = time_index("notification_consumer", "processed_events", "occurred_at")
