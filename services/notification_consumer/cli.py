"""`notification-consumer [serve|migrate|create-topics|replay]`, configured by environment.

  serve          the consumer loop and its REST API (default); SIGTERM = graceful stop
  migrate        apply this service's database migrations
  create-topics  create the main and dead-letter topics if missing
  replay         reset the group to the beginning (or --to-time ISO-8601) to reprocess;
                 never past the stored position unless --forward
"""

import argparse
import asyncio
import logging
import sys
from datetime import datetime
from pathlib import Path

from notification_consumer.app import create_app
from notification_consumer.config import SCHEMA, Settings
from notification_consumer.replay import ReplayRefused, reset_offsets
from service_kit.kafka import ensure_topics
from service_kit.logs import configure_logging
from service_kit.migrate import upgrade
from service_kit.serve import serve

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("notification_consumer.cli")


def main() -> None:
    parser = argparse.ArgumentParser(prog="notification-consumer", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="serve",
                        choices=["serve", "migrate", "create-topics", "replay"])
    parser.add_argument("--to-time", type=datetime.fromisoformat, default=None,
                        help="replay: start from the first offset at or after this time "
                             "(ISO 8601 with a UTC offset); default: the beginning")
    parser.add_argument("--forward", action="store_true",
                        help="replay: allow moving a partition past its stored position "
                             "(skips records that were never processed)")
    args = parser.parse_args()
    settings = Settings()
    configure_logging("notification-consumer", settings.log_level)
    if args.command == "migrate":
        upgrade(MIGRATIONS, settings.database_url, SCHEMA)
    elif args.command == "create-topics":
        asyncio.run(ensure_topics(settings, [settings.kafka_topic, settings.kafka_dlq_topic],
                                  settings.kafka_topic_partitions))
    elif args.command == "replay":
        if args.to_time is not None and args.to_time.tzinfo is None:
            parser.error("--to-time needs a UTC offset, e.g. 2026-11-26T12:00:00+00:00")
        try:
            offsets = asyncio.run(reset_offsets(settings, args.to_time, args.forward))
        except ReplayRefused as exc:
            log.error("replay refused", extra={"reason": str(exc)})
            sys.exit(2)
        log.info("group reset; start the consumer to reprocess", extra={"offsets": offsets})
    else:
        serve(create_app(settings), settings.host, settings.port)
