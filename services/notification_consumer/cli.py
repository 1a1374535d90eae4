"""`notification-consumer [serve|migrate|create-topics|reset-offsets]`, configured by environment.

  serve          the consumer (default); SIGTERM = graceful stop. --roles picks the parts:
                 ingest,http,webhooks,console (all by default, or CONSUMER_ROLES)
  migrate        apply this service's database migrations
  create-topics  create the main and dead-letter topics if missing
  reset-offsets  reset the group to the beginning (or --to-time ISO-8601) to reprocess;
                 never past the stored position unless --forward (`replay` is an alias)
"""

import argparse
import asyncio
import logging
import sys
from datetime import datetime
from pathlib import Path

from notification_consumer.app import create_app
from notification_consumer.config import SCHEMA, Settings, parse_roles
from notification_consumer.ingest.reset_offsets import ReplayRefused, reset_offsets
from service_kit.cli import run_command

MIGRATIONS = Path(__file__).parent / "migrations"
log = logging.getLogger("notification_consumer.cli")


def main() -> None:
    run_command("notification-consumer", __doc__, Settings, app=create_app,
                migrations=MIGRATIONS, schema=SCHEMA,
                topics=lambda settings: [settings.kafka_topic, settings.kafka_dlq_topic],
                more={"reset-offsets": _reset_offsets, "replay": _reset_offsets},
                options=_options, adjust=_roles)


def _roles(args: argparse.Namespace, settings: Settings) -> Settings:
    if args.roles is None:
        return settings
    parse_roles(args.roles)  # a clear error for an unknown role
    return settings.model_copy(update={"consumer_roles": args.roles})


def _options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--roles", default=None,
                        help="serve: what this process runs, a comma-separated subset of "
                             "ingest,http,webhooks,console (default: CONSUMER_ROLES, or all)")
    parser.add_argument("--to-time", type=_aware_time, default=None,
                        help="reset-offsets: start from the first offset at or after this time "
                             "(ISO 8601 with a UTC offset); default: the beginning")
    parser.add_argument("--forward", action="store_true",
                        help="reset-offsets: allow moving a partition past its stored position "
                             "(skips records that were never processed)")


def _aware_time(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise argparse.ArgumentTypeError(
            "needs a UTC offset, e.g. 2026-11-26T12:00:00+00:00")
    return when


def _reset_offsets(args: argparse.Namespace, settings: Settings) -> None:
    try:
        offsets = asyncio.run(reset_offsets(settings, settings, args.to_time, args.forward))
    except ReplayRefused as exc:
        log.error("replay refused", extra={"reason": str(exc)})
        sys.exit(2)
    log.info("group reset; start the consumer to reprocess", extra={"offsets": offsets})
