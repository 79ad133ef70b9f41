"""The SQLite review store: schema (models), migrations, connection, queries.

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
