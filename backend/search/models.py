"""Saved searches in junjo.db: a user's named span searches (schema owned by the alembic migrations)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base, UTCDateTime, utcnow
from backend.search.language import MAX_QUERY_CHARS

MAX_NAME_CHARS = 200


class SavedSearch(Base):
    __tablename__ = "saved_searches"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_saved_searches_user_name"),)

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(MAX_NAME_CHARS))
    query: Mapped[str] = mapped_column(String(MAX_QUERY_CHARS))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
