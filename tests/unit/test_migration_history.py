"""Each service's Alembic history is one straight line: `migrate` upgrades to "head", which
fails on a history with several heads (two branches each chained onto an older revision)."""

from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from notification_consumer.cli import MIGRATIONS as CONSUMER_MIGRATIONS
from transaction_api.cli import MIGRATIONS as API_MIGRATIONS


@pytest.mark.parametrize("migrations", [API_MIGRATIONS, CONSUMER_MIGRATIONS],
                         ids=["transaction_api", "notification_consumer"])
def test_history_has_one_head_and_no_branch(migrations: Path) -> None:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    scripts = ScriptDirectory.from_config(config)
    assert len(scripts.get_heads()) == 1, f"several heads: {scripts.get_heads()}"
    revisions = list(scripts.walk_revisions())
    parents = [r.down_revision for r in revisions]
    assert len(parents) == len(set(parents)), "two revisions share a parent"
    assert sorted(r.revision for r in revisions) == [r.revision for r in reversed(revisions)]
