"""The DDL shapes the services' migrations share, so that a migration names only what is its
own: which tables, which columns, which indexes.

Applied migrations never run again, so what a helper emits is part of every schema already
built with it: change one only together with a new migration that brings the old schemas
along (the schema-only dump of a fresh database must not move otherwise).
"""

from collections.abc import Callable, Mapping
from typing import Any

import sqlalchemy as sa
from alembic import op

# A migration's two halves, for a step that several tables take alike.
Step = tuple[Callable[[], None], Callable[[], None]]
Type = sa.types.TypeEngine[Any] | type[sa.types.TypeEngine[Any]]
TZ = sa.DateTime(timezone=True)
# numeric(24,4) on both sides: an amount's text, which the payload hash reads, is the same.
AMOUNT = sa.Numeric(24, 4)


def required(**types: Type) -> list[sa.Column[Any]]:
    """NOT NULL columns, name=type, in the order given."""
    return [sa.Column(name, type_, nullable=False) for name, type_ in types.items()]


def optional(**types: Type) -> list[sa.Column[Any]]:
    """Nullable columns, name=type, in the order given."""
    return [sa.Column(name, type_, nullable=True) for name, type_ in types.items()]


def counters(*names: str, type_: Type = sa.Integer, start: str = "0") -> list[sa.Column[Any]]:
    """NOT NULL counts that a new row starts at `start`."""
    return [sa.Column(name, type_, nullable=False, server_default=start) for name in names]


def serial_id() -> sa.Column[Any]:
    """`id`: a bigint identity primary key, the order rows were written in."""
    return sa.Column("id", sa.BigInteger(), sa.Identity(), primary_key=True)


def written_at(name: str = "created_at") -> sa.Column[Any]:
    """When the row was written, filled in by the server."""
    return sa.Column(name, TZ, nullable=False, server_default=sa.text("now()"))


def payment_fields() -> list[sa.Column[Any]]:
    """The canonical fields of a payment, as both services keep them (the reconciliation
    hashes read these columns by name, on both sides)."""
    return [*required(payer_id=sa.Text, payee_id=sa.Text, amount=AMOUNT, currency=sa.Text),
            *optional(description=sa.Text)]


def record_position() -> list[sa.Column[Any]]:
    """Where a Kafka record stood."""
    return required(topic=sa.Text, partition=sa.Integer, offset=sa.BigInteger)


def owned_by(name: str, type_: sa.types.TypeEngine[Any], parent: str) -> sa.Column[Any]:
    """A required reference to `parent` ("schema.table.column"): the row goes with its owner."""
    return sa.Column(name, type_, sa.ForeignKey(parent, ondelete="CASCADE"), nullable=False)


def statement_trigger(schema: str, table: str, name: str, timing: str, body: str,
                      referencing: str = "") -> None:
    """A PL/pgSQL function `name` and a FOR EACH STATEMENT trigger of the same name that runs
    it `timing` ("BEFORE INSERT", ...) on `table`. `body` is the text between the dollar
    quotes, kept byte for byte (PostgreSQL stores a function's source as written)."""
    op.execute(f"CREATE FUNCTION {schema}.{name}() RETURNS trigger LANGUAGE plpgsql "
               f"AS $${body}$$")
    op.execute(f"CREATE TRIGGER {name} {timing} ON {schema}.{table} {referencing} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {schema}.{name}()")


def drop_statement_trigger(schema: str, table: str, name: str) -> None:
    op.execute(f"DROP TRIGGER IF EXISTS {name} ON {schema}.{table}")
    op.execute(f"DROP FUNCTION IF EXISTS {schema}.{name}()")


def time_index(schema: str, table: str, column: str) -> Step:
    """An index on a time column, so that a recent window is read, not the table."""
    name = f"{table}_{column}"

    def upgrade() -> None:
        op.create_index(name, table, [column], schema=schema)

    def downgrade() -> None:
        op.drop_index(name, table_name=table, schema=schema)

    return upgrade, downgrade


def covering_columns(schema: str, table: str, generated: Mapping[str, str], *, on: str,
                     index: str) -> Step:
    """Stored generated bigint columns (name -> expression) and an index `index` on the time
    column `on` that carries them, in place of time_index(schema, table, on)."""
    add_plain_index, drop_plain_index = time_index(schema, table, on)

    def upgrade() -> None:
        for name, expression in generated.items():
            op.add_column(table, sa.Column(name, sa.BigInteger(),
                                           sa.Computed(expression, persisted=True)),
                          schema=schema)
        op.create_index(index, table, [on], schema=schema, postgresql_include=list(generated))
        drop_plain_index()

    def downgrade() -> None:
        add_plain_index()
        op.drop_index(index, table_name=table, schema=schema)
        for name in reversed(list(generated)):
            op.drop_column(table, name, schema=schema)

    return upgrade, downgrade
