"""The SQLite review store: schema (models, column lists), migrations, connection, and ALL SQL.

Modules: ``db`` (connection, transactions), ``migrations``, ``schema`` (each
table's columns, once), ``filters`` (``CardFilter`` and deck SQL), ``cards``,
``notes``, ``reviews`` and ``links`` (each row type mapped in one place).
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
