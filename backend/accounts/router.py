"""Accounts REST routes, mounted at the root (reference §1.1): setup, sign-in/out, users."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import structlog
from fastapi import APIRouter, HTTPException, Request, status

from backend.accounts import service
from backend.accounts.deps import CurrentUser
from backend.accounts.schemas import AuthTest, Message, NewUser, SignIn, UserRead, UsersExist
from backend.accounts.throttle import SignInThrottle
from backend.db.models import User
from backend.deps import DatabaseDep

router = APIRouter(tags=["auth"])
log = structlog.get_logger(__name__)

USERS_EXIST = "Users already exist, cannot create first user"
DUPLICATE_EMAIL = "A user with this email already exists"
INVALID_CREDENTIALS = "Invalid credentials"
TOO_MANY_ATTEMPTS = "Too many sign-in attempts; try again later"


def _start_session(request: Request, user: User) -> None:
    request.session.clear()
    request.session.update(
        {
            "uid": user.id,
            "rev": user.session_revision,
            "sid": secrets.token_urlsafe(16),
            "at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def _client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


@router.get("/users/db-has-users")
def db_has_users(db: DatabaseDep) -> UsersExist:
    return UsersExist(users_exist=service.has_users(db))


@router.post("/users/create-first-user")
def create_first_user(body: NewUser, request: Request, db: DatabaseDep) -> Message:
    try:
        user = service.create_first_user(db, body.email, body.password)
    except service.UsersAlreadyExist:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, USERS_EXIST) from None
    _start_session(request, user)
    log.info("first user created", user_id=user.id)
    return Message(message="First user created successfully")


@router.post("/sign-in")
def sign_in(body: SignIn, request: Request, db: DatabaseDep) -> Message:
    throttle: SignInThrottle = request.app.state.sign_in_throttle
    email, client = service.normalize_email(body.email), _client_address(request)
    wait = throttle.retry_after(email, client)
    if wait:
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, TOO_MANY_ATTEMPTS, headers={"Retry-After": str(wait)}
        )
    user = service.authenticate(db, body.email, body.password)
    if user is None:
        throttle.failed(email, client)
        log.info("sign-in failed", client=client)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, INVALID_CREDENTIALS)
    throttle.succeeded(email)
    _start_session(request, user)
    return Message(message="signed in")


@router.post("/sign-out")
def sign_out(user: CurrentUser, request: Request, db: DatabaseDep) -> Message:
    service.revoke_sessions(db, user.id)
    request.session.clear()
    return Message(message="signed out")


@router.get("/auth-test")
def auth_test(user: CurrentUser) -> AuthTest:
    return AuthTest(user_email=user.email)


@router.post("/users")
def create_user(body: NewUser, _: CurrentUser, db: DatabaseDep) -> Message:
    try:
        service.create_user(db, body.email, body.password)
    except service.DuplicateEmail:
        raise HTTPException(status.HTTP_409_CONFLICT, DUPLICATE_EMAIL) from None
    return Message(message="User created successfully")


@router.get("/users")
def list_users(_: CurrentUser, db: DatabaseDep) -> list[UserRead]:
    return [UserRead.model_validate(u, from_attributes=True) for u in service.list_users(db)]


@router.delete("/users/{user_id}")
def delete_user(user_id: str, _: CurrentUser, db: DatabaseDep) -> Message:
    if not service.delete_user(db, user_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "User not found")
    return Message(message="User deleted successfully")
