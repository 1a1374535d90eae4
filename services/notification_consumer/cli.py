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
from notification_consumer.ingest.reset_offsets import ReplayRefused, reset_offsets
from service_kit.cli import run_command

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("notification_consumer.cli")


def main() -> None:
    run_command("notification-consumer", __doc__, Settings, app=create_app,
                migrations=MIGRATIONS, schema=SCHEMA,
                topics=lambda settings: [settings.kafka_topic, settings.kafka_dlq_topic],
                more={"replay": _replay}, options=_replay_options)


def _replay_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to-time", type=_aware_time, default=None,
                        help="replay: start from the first offset at or after this time "
                             "(ISO 8601 with a UTC offset); default: the beginning")
    parser.add_argument("--forward", action="store_true",
                        help="replay: allow moving a partition past its stored position "
                             "(skips records that were never processed)")


def _aware_time(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(
            "needs a UTC offset, e.g. 2026-11-26T12:00:00+00:00")
    return when


def _replay(args: argparse.Namespace, settings: Settings) -> None:
    try:
        offsets = asyncio.run(reset_offsets(settings, args.to_time, args.forward))
    except ReplayRefused as exc:
        log.error("replay refused", extra={"reason": str(exc)})
        sys.exit(2)
    log.info("group reset; start the consumer to reprocess", extra={"offsets": offsets})
