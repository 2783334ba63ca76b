"""The application database (`junjo.db`): users and API keys in SQLite through SQLAlchemy 2."""
