from pydantic import Field, SecretStr, field_validator

from notification_consumer.console.settings import ConsoleSettings
from notification_consumer.ingest.settings import IngestSettings
from notification_consumer.reconcile.settings import ReconcileSettings
from notification_consumer.webhooks.settings import WebhookSettings
from service_kit.settings import CommonSettings

SCHEMA = "notification_consumer"
ROLES = ("ingest", "http", "webhooks", "console")


def parse_roles(value: str) -> frozenset[str]:
    """`ingest,http` -> the roles; unknown or none at all is an error that names them."""
    roles = frozenset(r.strip() for r in value.split(",") if r.strip())
    unknown = roles - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"roles must be a comma-separated subset of {','.join(ROLES)}; "
                         f"got {value!r}")
    return roles


class Settings(IngestSettings, ReconcileSettings, ConsoleSettings, WebhookSettings,
               CommonSettings):
    """Notification consumer: the group, batches, failures, lag and reconciliation."""

    port: int = 8001
    consumer_roles: str = Field(
        default=",".join(ROLES),
        description="What this process runs: `ingest` (the Kafka loop, lag monitor and "
                    "background reconciliation), `http` (REST, webhook subscriptions, "
                    "streams), `webhooks` (the delivery worker), `console`. "
                    "`serve --roles` overrides it.")
    admin_api_keys: SecretStr = Field(
        default=SecretStr(""),
        description="Comma-separated keys that may also read and replay dead letters and see "
                    "every payment; valid for everything else too.")

    @field_validator("consumer_roles")
    @classmethod
    def _known_roles(cls, value: str) -> str:
        return ",".join(r for r in ROLES if r in parse_roles(value))

    @property
    def roles(self) -> frozenset[str]:
        return parse_roles(self.consumer_roles)
