"""Test-only entry point: the consumer with a crash injected right after the N-th database
commit, before Kafka's copy (`FAULT_EXIT_AFTER_DB_COMMITS=N`). Production code has no such
setting: the hook is passed to create_app by this script only."""

import os

from notification_consumer.app import create_app
from notification_consumer.config import Settings
from service_kit.logs import configure_logging
from service_kit.serve import serve


def main() -> None:
    limit = int(os.environ["FAULT_EXIT_AFTER_DB_COMMITS"])
    commits = 0

    def crash_after_commit() -> None:
        nonlocal commits
        commits += 1
        if commits >= limit:
            os._exit(137)

    settings = Settings()
    configure_logging("notification-consumer", settings.log_level)
    serve(create_app(settings, after_db_commit=crash_after_commit), settings.host, settings.port)


if __name__ == "__main__":
    main()
