"""`transaction-api [serve|migrate|create-topics]`: configured only by environment variables."""

import argparse
import asyncio
from pathlib import Path

from service_kit.kafka import ensure_topics
from service_kit.logs import configure_logging
from service_kit.migrate import upgrade
from service_kit.serve import serve
from transaction_api.app import create_app
from transaction_api.config import SCHEMA, Settings

MIGRATIONS = Path(__file__).parent / "migrations"


def main() -> None:
    parser = argparse.ArgumentParser(prog="transaction-api", description=__doc__)
    parser.add_argument("command", nargs="?", default="serve",
                        choices=["serve", "migrate", "create-topics"])
    args = parser.parse_args()
    settings = Settings()
    configure_logging("transaction-api", settings.log_level)
    if args.command == "migrate":
        upgrade(MIGRATIONS, settings.database_url, SCHEMA)
    elif args.command == "create-topics":
        asyncio.run(ensure_topics(settings, [settings.kafka_topic],
                                  settings.kafka_topic_partitions))
    else:
        serve(create_app(settings), settings.host, settings.port)
