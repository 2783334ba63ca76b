"""The application database: users, API keys, evaluation tokens and the evaluation store through
SQLAlchemy 2 and alembic, in SQLite (`junjo.db`, the default) or PostgreSQL (JUNJO_DATABASE_URL)."""
