"""What both console scripts do: parse `<script> [command]`, read the settings from the
environment, set up JSON logs, run the command. `serve` (the default), `migrate` and
`create-topics` are the same for every service; a service adds its own commands."""

import argparse
import asyncio
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar

from fastapi import FastAPI

from service_kit.kafka import ensure_topics
from service_kit.logs import configure_logging
from service_kit.migrate import upgrade
from service_kit.serve import serve
from service_kit.settings import CommonSettings

S = TypeVar("S", bound=CommonSettings)


def run_command(name: str, doc: str | None, settings: Callable[[], S], *,
                app: Callable[[S], FastAPI], migrations: Path, schema: str,
                topics: Callable[[S], list[str]],
                more: Mapping[str, Callable[[argparse.Namespace, S], None]] | None = None,
                options: Callable[[argparse.ArgumentParser], None] | None = None,
                adjust: Callable[[argparse.Namespace, S], S] | None = None) -> None:
    """`name` is the script's and the logs'; `more` maps a service's own commands to what
    runs them, `options` adds their arguments, `adjust` lets arguments override settings.
    Settings are read after parsing, so `--help` works without any environment."""
    commands: dict[str, Callable[[argparse.Namespace, S], None]] = {
        "serve": lambda args, config: serve(app(config), config.host, config.port),
        "migrate": lambda args, config: upgrade(migrations, config.database_url, schema),
        "create-topics": lambda args, config: asyncio.run(
            ensure_topics(config, topics(config), config.kafka_topic_partitions)),
        **(more or {}),
    }
    parser = argparse.ArgumentParser(prog=name, description=doc,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", default="serve", choices=list(commands))
    if options is not None:
        options(parser)
    args = parser.parse_args()
    config = settings()
    if adjust is not None:
        try:
            config = adjust(args, config)
        except ValueError as exc:
            parser.error(str(exc))
    configure_logging(name, config.log_level)
    commands[args.command](args, config)
