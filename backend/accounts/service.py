"""Users in junjo.db: creation (race-safe first user), authentication, listing, role and activity
changes, password changes, deletion, and session revocation. Synchronous: FastAPI runs these
handlers in its thread pool.

Every change that could leave the instance without an active admin (deleting, demoting or
deactivating the last one) is refused inside the same write transaction that would make it, so two
admins demoting each other at once cannot both succeed.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts.passwords import hash_password, verify_password
from backend.db.engine import Database
from backend.db.models import Role, User
from backend.ids import new_id


class UsersAlreadyExist(Exception):
    pass


class DuplicateEmail(Exception):
    pass


class UserNotFound(Exception):
    pass


class RefusedChange(Exception):
    """A change that would lock everyone out (message says which)."""


class WrongPassword(Exception):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


def has_users(db: Database) -> bool:
    with db.session() as tx:
        return (tx.scalar(select(func.count()).select_from(User)) or 0) > 0


def create_first_user(db: Database, email: str, password: str) -> User:
    """Creates the first account, an admin; raises UsersAlreadyExist if any user exists (even
    concurrently).

    The cheap count rejects late requests without hashing; BEGIN IMMEDIATE then serializes the
    real check-and-insert so exactly one of many simultaneous requests wins.
    """
    if has_users(db):
        raise UsersAlreadyExist
    password_hash = hash_password(password)
    try:
        with db.write_transaction() as tx:
            if (tx.scalar(select(func.count()).select_from(User)) or 0) > 0:
                raise UsersAlreadyExist
            user = User(
                id=new_id(), email=normalize_email(email), password_hash=password_hash, role=Role.ADMIN
            )
            tx.add(user)
    except IntegrityError:
        raise UsersAlreadyExist from None
    return user


def create_user(db: Database, email: str, password: str, role: Role) -> User:
    password_hash = hash_password(password)
    try:
        with db.session() as tx:
            user = User(id=new_id(), email=normalize_email(email), password_hash=password_hash, role=role)
            tx.add(user)
    except IntegrityError:
        raise DuplicateEmail from None
    return user


def authenticate(db: Database, email: str, password: str) -> User | None:
    """The active user with this email and password; None otherwise (same cost either way)."""
    with db.session() as tx:
        user = tx.scalar(select(User).where(User.email == normalize_email(email)))
    if not verify_password(password, user.password_hash if user else None):
        return None
    return user if user is not None and user.is_active else None


def list_users(db: Database) -> list[User]:
    with db.session() as tx:
        return list(tx.scalars(select(User).order_by(User.created_at, User.email)))


def _active_admins(tx: Session) -> int:
    query = select(func.count()).select_from(User).where(User.role == Role.ADMIN, User.is_active)
    return tx.scalar(query) or 0


def _is_active_admin(user: User) -> bool:
    return user.role == Role.ADMIN and user.is_active


def delete_user(db: Database, user_id: str, acting_user_id: str) -> None:
    """Deletes a user; never yourself, the last user or the last active admin."""
    if user_id == acting_user_id:
        raise RefusedChange("You cannot delete your own account")
    with db.write_transaction() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise UserNotFound
        if (tx.scalar(select(func.count()).select_from(User)) or 0) <= 1:
            raise RefusedChange("The last user cannot be deleted")
        if _is_active_admin(user) and _active_admins(tx) <= 1:
            raise RefusedChange("The last active admin cannot be deleted")
        tx.execute(delete(User).where(User.id == user_id))


def update_user(
    db: Database, user_id: str, acting_user_id: str, role: Role | None, is_active: bool | None
) -> User:
    """Changes a user's role and/or activity. Deactivating ends their sessions. Refused for your
    own account and when no active admin would remain."""
    if user_id == acting_user_id:
        raise RefusedChange("You cannot change your own role or deactivate yourself")
    with db.write_transaction() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise UserNotFound
        was_active_admin = _is_active_admin(user)
        if role is not None:
            user.role = role
        if is_active is not None:
            if user.is_active and not is_active:
                user.session_revision += 1
            user.is_active = is_active
        if was_active_admin and not _is_active_admin(user) and _active_admins(tx) == 0:
            raise RefusedChange("The last active admin cannot be demoted or deactivated")
        return user


def change_password(db: Database, user_id: str, current_password: str, new_password: str) -> User:
    """Sets a new password after checking the current one; every existing session of the user
    ends (the caller re-issues its own session with the returned user's new revision)."""
    with db.session() as tx:
        user = tx.get(User, user_id)
    if user is None:
        raise UserNotFound
    if not verify_password(current_password, user.password_hash):
        raise WrongPassword
    new_hash = hash_password(new_password)
    with db.write_transaction() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise UserNotFound
        user.password_hash = new_hash
        user.session_revision += 1
        return user


def revoke_sessions(db: Database, user_id: str) -> None:
    """Invalidates every session cookie of the user, on every device."""
    with db.session() as tx:
        tx.execute(update(User).where(User.id == user_id).values(session_revision=User.session_revision + 1))
