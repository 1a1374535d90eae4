"""The operator console's own settings (it also reads the group's and the API's)."""

from pydantic import Field

from notification_consumer.ingest.settings import GroupSettings
from notification_consumer.reconcile.settings import ApiSideSettings


class ConsoleSettings(GroupSettings, ApiSideSettings):
    """Console sampling and bulk replay."""

    console_sample_interval_s: float = Field(
        default=5.0, gt=0, le=60, description="Seconds between the console's overview samples.")
    replay_rate_per_s: float = Field(
        default=20.0, gt=0, le=1000,
        description="Dead letters per second a bulk replay from the console publishes.")
