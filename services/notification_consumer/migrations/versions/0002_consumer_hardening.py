"""consumer hardening: fenced offsets, byte headers on dead letters, owner scope"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"

SCHEMA = "notification_consumer"
BYTEA_ARRAY = postgresql.ARRAY(postgresql.BYTEA())


def upgrade() -> None:
    # Fencing: who claimed the partition (group generation + member id). A claim made before
    # any offset is stored has no next offset yet.
    op.add_column("consumer_offsets", sa.Column("generation", sa.Integer(), nullable=True),
                  schema=SCHEMA)
    op.add_column("consumer_offsets", sa.Column("member_id", sa.Text(), nullable=False,
                                                server_default=""), schema=SCHEMA)
    op.alter_column("consumer_offsets", "next_offset", nullable=True, schema=SCHEMA)
    # Header keys and values as bytes: text columns could reject a NUL or invalid UTF-8.
    op.add_column("dead_letters", sa.Column("header_keys", BYTEA_ARRAY, nullable=False,
                                            server_default="{}"), schema=SCHEMA)
    op.add_column("dead_letters", sa.Column("header_values", BYTEA_ARRAY, nullable=False,
                                            server_default="{}"), schema=SCHEMA)
    op.execute(f"""
        UPDATE {SCHEMA}.dead_letters d SET
            header_keys = COALESCE((SELECT array_agg(convert_to(h->>0, 'UTF8') ORDER BY n)
                FROM jsonb_array_elements(d.headers) WITH ORDINALITY AS e(h, n)), '{{}}'),
            header_values = COALESCE((SELECT array_agg(decode(h->>1, 'base64') ORDER BY n)
                FROM jsonb_array_elements(d.headers) WITH ORDINALITY AS e(h, n)), '{{}}')
    """)
    op.drop_column("dead_letters", "headers", schema=SCHEMA)
    # Which API key accepted the payment (ce_ownerscope); NULL when accepted without auth.
    op.add_column("processed_events", sa.Column("owner_scope", sa.Text(), nullable=True),
                  schema=SCHEMA)
    op.create_index("processed_events_owner", "processed_events", ["owner_scope", "seq"],
                    schema=SCHEMA, postgresql_where=sa.text("owner_scope IS NOT NULL"))


def downgrade() -> None:
    op.drop_index("processed_events_owner", "processed_events", schema=SCHEMA)
    op.drop_column("processed_events", "owner_scope", schema=SCHEMA)
    op.add_column("dead_letters", sa.Column("headers", postgresql.JSONB(), nullable=False,
                                            server_default="[]"), schema=SCHEMA)
    op.execute(f"""
        UPDATE {SCHEMA}.dead_letters SET headers = COALESCE((
            SELECT jsonb_agg(jsonb_build_array(convert_from(k, 'UTF8'), encode(v, 'base64')))
            FROM unnest(header_keys, header_values) AS h(k, v)), '[]')
    """)
    op.drop_column("dead_letters", "header_values", schema=SCHEMA)
    op.drop_column("dead_letters", "header_keys", schema=SCHEMA)
    op.execute(f"DELETE FROM {SCHEMA}.consumer_offsets WHERE next_offset IS NULL")
    op.alter_column("consumer_offsets", "next_offset", nullable=False, schema=SCHEMA)
    op.drop_column("consumer_offsets", "member_id", schema=SCHEMA)
    op.drop_column("consumer_offsets", "generation", schema=SCHEMA)
