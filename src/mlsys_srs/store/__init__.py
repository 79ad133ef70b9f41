"""The SQLite review store: schema (models, column lists), migrations, connection, and ALL SQL.

Modules: ``models`` (the schema of record, SQLModel; never imported at run time),
``ddl`` (generated from the models: each table's columns and CREATE statements),
``db`` (connection, transactions), ``migrations`` (history), ``schema`` (column
lists), ``filters`` (``CardFilter`` and deck SQL); the card table's views: ``cards``
(reading cards, scheduling state, tags), ``candidates`` (the review queue's),
``card_stats`` (the statistics') and ``card_sync`` (a sync's reads and writes); then
``notes``, ``review_log``, ``schedules``, ``events``, ``links`` and the caches (each row
type mapped in one place).
Nothing here knows Markdown or card syntax.
"""

from .db import dt_from_db, dt_to_db, open_db, schema_version, transaction
from .migrations import SCHEMA_VERSION, migrate

__all__ = [
    "SCHEMA_VERSION",
    "dt_from_db",
    "dt_to_db",
    "migrate",
    "open_db",
    "schema_version",
    "transaction",
]
