"""dead-letter replays (one per letter, recorded before the publish) and their audit trail

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

SCHEMA = "notification_consumer"
TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "replay_audit",
        sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True),
        sa.Column("actor_scope", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("filters", postgresql.JSONB(), nullable=False),
        sa.Column("selected", sa.Integer(), nullable=False),
        sa.Column("replayed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("already", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("failed", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("started_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("finished_at", TZ, nullable=True),
        schema=SCHEMA,
    )
    op.create_table(
        "dead_letter_replays",
        # One row per letter, ever: the primary key is what makes a replay happen once.
        sa.Column("letter_id", sa.BigInteger(),
                  sa.ForeignKey(f"{SCHEMA}.dead_letters.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("replay_id", sa.Uuid(), nullable=False, unique=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("audit_id", sa.BigInteger(), sa.ForeignKey(f"{SCHEMA}.replay_audit.id"),
                  nullable=True),
        sa.Column("actor_scope", sa.Text(), nullable=False),
        sa.Column("first_requested_at", TZ, nullable=False, server_default=sa.text("now()")),
        sa.Column("lease_until", TZ, nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="1"),
        sa.Column("published_at", TZ, nullable=True),
        sa.Column("partition", sa.Integer(), nullable=True),
        sa.Column("offset", sa.BigInteger(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('pending', 'published')", name="replay_state"),
        schema=SCHEMA,
    )
    op.create_index("dead_letters_created", "dead_letters", ["created_at"], schema=SCHEMA)
    op.create_index("dead_letters_event", "dead_letters", ["event_id"], schema=SCHEMA)


def downgrade() -> None:
    op.drop_index("dead_letters_event", "dead_letters", schema=SCHEMA)
    op.drop_index("dead_letters_created", "dead_letters", schema=SCHEMA)
    op.drop_table("dead_letter_replays", schema=SCHEMA)
    op.drop_table("replay_audit", schema=SCHEMA)
