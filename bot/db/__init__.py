"""Storage: the database connection, migrations, and one repository per concept."""

from bot.db.database import Database, Transaction, from_db_time, to_db_time
from bot.db.migrations import MigrationError, MigrationReport, migrate

__all__ = [
    "Database",
    "MigrationError",
    "MigrationReport",
    "Transaction",
    "from_db_time",
    "migrate",
    "to_db_time",
]
