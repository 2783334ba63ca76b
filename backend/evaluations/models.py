"""Tables of the evaluation store in junjo.db (schema owned by the alembic migrations).

Every record a client may write twice (the Studio client retries) has a natural key with a unique
index, so a replay finds the stored row: datasets by (application_key, key), cases by
(dataset_id, case_key), runs by (dataset_id, request_key), attempts by (run_id, case_id).
JSON payloads and evidence references are kept as canonical JSON text (compact, sorted keys), so
"same content" is a string comparison and evidence membership is an indexed equality lookup.
Developer access tokens are stored only as a SHA-256 digest plus a display prefix.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from backend.db.models import Base, UTCDateTime, utcnow


class EvaluationToken(Base):
    __tablename__ = "evaluation_tokens"

    id: Mapped[str] = mapped_column(String(22), primary_key=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    prefix: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(256))
    scopes: Mapped[str] = mapped_column(String(128))  # space-separated, sorted
    created_by_user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_evaluation_tokens_created_at_id", "created_at", "id"),)
