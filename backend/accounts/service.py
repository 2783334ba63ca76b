"""Users in junjo.db: creation (race-safe first user), authentication, listing, deletion, and
session revocation. Synchronous: FastAPI runs these handlers in its thread pool.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError

from backend.accounts.passwords import hash_password, verify_password
from backend.db.engine import Database
from backend.db.models import User
from backend.ids import new_id


class UsersAlreadyExist(Exception):
    pass


class DuplicateEmail(Exception):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


def has_users(db: Database) -> bool:
    with db.session() as tx:
        return tx.scalar(select(func.count()).select_from(User)) > 0


def create_first_user(db: Database, email: str, password: str) -> User:
    """Creates the first account; raises UsersAlreadyExist if any user exists (even concurrently).

    The cheap count rejects late requests without hashing; BEGIN IMMEDIATE then serializes the
    real check-and-insert so exactly one of many simultaneous requests wins.
    """
    if has_users(db):
        raise UsersAlreadyExist
    password_hash = hash_password(password)
    try:
        with db.write_transaction() as tx:
            if tx.scalar(select(func.count()).select_from(User)) > 0:
                raise UsersAlreadyExist
            user = User(id=new_id(), email=normalize_email(email), password_hash=password_hash)
            tx.add(user)
    except IntegrityError:
        raise UsersAlreadyExist from None
    return user


def create_user(db: Database, email: str, password: str) -> User:
    password_hash = hash_password(password)
    try:
        with db.session() as tx:
            user = User(id=new_id(), email=normalize_email(email), password_hash=password_hash)
            tx.add(user)
    except IntegrityError:
        raise DuplicateEmail from None
    return user


def authenticate(db: Database, email: str, password: str) -> User | None:
    with db.session() as tx:
        user = tx.scalar(select(User).where(User.email == normalize_email(email)))
    if not verify_password(password, user.password_hash if user else None):
        return None
    return user


def list_users(db: Database) -> list[User]:
    with db.session() as tx:
        return list(tx.scalars(select(User).order_by(User.created_at, User.email)))


def delete_user(db: Database, user_id: str) -> bool:
    with db.session() as tx:
        return tx.execute(delete(User).where(User.id == user_id)).rowcount > 0


def revoke_sessions(db: Database, user_id: str) -> None:
    """Invalidates every session cookie of the user, on every device."""
    with db.session() as tx:
        tx.execute(update(User).where(User.id == user_id).values(session_revision=User.session_revision + 1))
