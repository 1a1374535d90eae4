"""`transaction-api [serve|migrate|create-topics]`: configured only by environment variables."""

from pathlib import Path

from service_kit.cli import run_command
from transaction_api.app import create_app
from transaction_api.config import SCHEMA, Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def main() -> None:
    run_command("transaction-api", __doc__, Settings, app=create_app, migrations=MIGRATIONS,
                schema=SCHEMA, topics=lambda settings: [settings.kafka_topic])
