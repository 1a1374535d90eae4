"""reconciliation: accepted payments by time, for the per-minute buckets"""

from service_kit.migration_ops import time_index

revision = "0003"
down_revision = "0002"

upgrade, downgrade = time_index("transaction_api", "payment_requests", "created_at")
