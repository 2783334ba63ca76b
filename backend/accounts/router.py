"""Accounts REST routes, mounted at the root (reference §1.1, plus roles, password changes and the
setup code): setup, sign-in/out, users."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, FastAPI, HTTPException, Request, status

from backend.accounts import service
from backend.accounts.deps import AdminUser, CurrentUser
from backend.accounts.schemas import (
    AuthTest,
    FirstUser,
    Message,
    NewUser,
    PasswordChange,
    SignIn,
    UserRead,
    UsersExist,
    UserUpdate,
)
from backend.accounts.sessions import new_session
from backend.accounts.setup_code import SetupCode, is_loopback
from backend.accounts.throttle import SignInThrottle
from backend.db.models import User
from backend.deps import DatabaseDep
from backend.settings import Settings

router = APIRouter(tags=["auth"])
log = structlog.get_logger(__name__)

USERS_EXIST = "Users already exist, cannot create first user"
SETUP_CODE_REQUIRED = (
    "Setup code missing or wrong: it is printed in the backend's log (setup_code_issued) while no user exists"
)
DUPLICATE_EMAIL = "A user with this email already exists"
INVALID_CREDENTIALS = "Invalid credentials"
TOO_MANY_ATTEMPTS = "Too many sign-in attempts; try again later"
WRONG_CURRENT_PASSWORD = "Current password is wrong"  # noqa: S105 (an error message)
USER_NOT_FOUND = "User not found"


@asynccontextmanager
async def accounts_lifespan(app: FastAPI, settings: Settings) -> AsyncIterator[None]:
    """Issues (and logs) the setup code at start while the instance has no user."""
    if not service.has_users(app.state.db):
        app.state.setup_code.issue()
    yield


def _start_session(request: Request, user: User) -> None:
    request.session.clear()
    request.session.update(new_session(user.id, user.session_revision, datetime.now(UTC)))


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _setup_code_needed(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.is_production or not is_loopback(_client_address(request))


@router.get("/users/db-has-users")
def db_has_users(db: DatabaseDep) -> UsersExist:
    return UsersExist(users_exist=service.has_users(db))


@router.post("/users/create-first-user", responses={403: {"description": "setup code missing or wrong"}})
def create_first_user(body: FirstUser, request: Request, db: DatabaseDep) -> Message:
    setup_code: SetupCode = request.app.state.setup_code
    if service.has_users(db):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, USERS_EXIST)
    if not setup_code.live:
        setup_code.issue()  # the users were removed behind our back: a new code for the operator
    if _setup_code_needed(request) and not setup_code.matches(body.setup_code):
        log.info("setup_code_refused", client=_client_address(request))
        raise HTTPException(status.HTTP_403_FORBIDDEN, SETUP_CODE_REQUIRED)
    try:
        user = service.create_first_user(db, body.email, body.password)
    except service.UsersAlreadyExist:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, USERS_EXIST) from None
    setup_code.spend()
    _start_session(request, user)
    log.info("first_user_created", user_id=user.id)
    return Message(message="First user created successfully")


@router.post("/sign-in")
def sign_in(body: SignIn, request: Request, db: DatabaseDep) -> Message:
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    client = _client_address(request)
    attempt = throttle.begin(service.normalize_email(body.email), client)
    if isinstance(attempt, int):
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS, headers={"Retry-After": str(attempt)}
        )
    user = service.authenticate(db, body.email, body.password)
    if user is None:
        log.info("sign_in_failed", client=client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, INVALID_CREDENTIALS)
    throttle.succeeded(attempt)
    _start_session(request, user)
    return Message(message="signed in")


@router.post("/sign-out")
def sign_out(user: CurrentUser, request: Request, db: DatabaseDep) -> Message:
    service.revoke_sessions(db, user.id)
    request.session.clear()
    return Message(message="signed out")


@router.get("/auth-test")
def auth_test(user: CurrentUser) -> AuthTest:
    return AuthTest(user_email=user.email, user_id=user.id, role=user.role)


@router.post("/users/me/password", responses={400: {"description": "current password is wrong"}})
def change_own_password(
    body: PasswordChange, user: CurrentUser, request: Request, db: DatabaseDep
) -> Message:
    """Every user may change their own password; their other sessions end, this one continues."""
    try:
        updated = service.change_password(db, user.id, body.current_password, body.new_password)
    except service.WrongPassword:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, WRONG_CURRENT_PASSWORD) from None
    except service.UserNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, USER_NOT_FOUND) from None
    _start_session(request, updated)
    log.info("password_changed", user_id=user.id)
    return Message(message="Password changed")


@router.post("/users")
def create_user(body: NewUser, _: AdminUser, db: DatabaseDep) -> Message:
    try:
        service.create_user(db, body.email, body.password, body.role)
    except service.DuplicateEmail:
        raise HTTPException(status.HTTP_409_CONFLICT, DUPLICATE_EMAIL) from None
    return Message(message="User created successfully")


@router.get("/users")
def list_users(_: AdminUser, db: DatabaseDep) -> list[UserRead]:
    return [UserRead.model_validate(u, from_attributes=True) for u in service.list_users(db)]


@router.patch("/users/{user_id}", responses={404: {}, 409: {"description": "would lock the instance"}})
def update_user(user_id: str, body: UserUpdate, admin: AdminUser, db: DatabaseDep) -> UserRead:
    """An admin changes another user's role and/or deactivates (ending their sessions) or
    reactivates them."""
    try:
        user = service.update_user(db, user_id, admin.id, body.role, body.is_active)
    except service.UserNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, USER_NOT_FOUND) from None
    except service.RefusedChange as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    log.info("user_updated", user_id=user_id, role=user.role, is_active=user.is_active, by=admin.id)
    return UserRead.model_validate(user, from_attributes=True)


@router.delete("/users/{user_id}", responses={404: {}, 409: {"description": "yourself or the last user"}})
def delete_user(user_id: str, admin: AdminUser, db: DatabaseDep) -> Message:
    try:
        service.delete_user(db, user_id, admin.id)
    except service.UserNotFound:
        raise HTTPException(status.HTTP_404_NOT_FOUND, USER_NOT_FOUND) from None
    except service.RefusedChange as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from None
    log.info("user_deleted", user_id=user_id, by=admin.id)
    return Message(message="User deleted successfully")
