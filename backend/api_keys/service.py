"""API keys: 64 random alphanumerics, stored only as a SHA-256 digest plus a display prefix.

A key carries ~381 bits of entropy, so an unsalted fast digest is safe to store and lets
validation be one indexed equality lookup. The full key exists only in the creation response.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select

from backend.db.engine import Database
from backend.db.models import ApiKey
from backend.ids import new_id

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_LENGTH = 64
PREFIX_LENGTH = 8


@dataclass(frozen=True)
class CreatedKey:
    id: str
    key: str
    name: str
    prefix: str
    created_at: datetime


def generate_key() -> str:
    return "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_LENGTH))


def digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


def create_key(db: Database, name: str) -> CreatedKey:
    key = generate_key()
    row = ApiKey(id=new_id(), key_sha256=digest(key), prefix=key[:PREFIX_LENGTH], name=name)
    with db.session() as tx:
        tx.add(row)
    return CreatedKey(id=row.id, key=key, name=row.name, prefix=row.prefix, created_at=row.created_at)


def list_keys(db: Database) -> list[ApiKey]:
    with db.session() as tx:
        return list(tx.scalars(select(ApiKey).order_by(ApiKey.created_at.desc(), ApiKey.id)))


def delete_key(db: Database, key_id: str) -> bool:
    with db.session() as tx:
        return db.delete_rows(tx, delete(ApiKey).where(ApiKey.id == key_id)) > 0


def is_valid_key(db: Database, key: str) -> bool:
    """Raises on a store failure: the caller must answer 'unavailable', never 'invalid'."""
    if len(key) != KEY_LENGTH:
        return False
    with db.session() as tx:
        return tx.scalar(select(ApiKey.id).where(ApiKey.key_sha256 == digest(key))) is not None
