"""Request and response bodies of the accounts routes (the reference's shapes, plus roles, the setup
code and password changes)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, Field, PlainSerializer
from pydantic_core import PydanticCustomError

from backend.accounts.setup_code import MAX_INPUT_LENGTH
from backend.db.models import Role
from backend.validation import Utf8Str

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024


def _bounded(value: str, minimum: int) -> str:
    if len(value) < minimum:
        raise PydanticCustomError(
            "string_too_short", "Password must be at least {min_length} characters", {"min_length": minimum}
        )
    if len(value) > MAX_PASSWORD_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "Password must be at most {max_length} characters",
            {"max_length": MAX_PASSWORD_LENGTH},
        )
    return value


NewPassword = Annotated[Utf8Str, AfterValidator(lambda v: _bounded(v, MIN_PASSWORD_LENGTH))]
AnyPassword = Annotated[Utf8Str, AfterValidator(lambda v: _bounded(v, 0))]
UtcSeconds = Annotated[
    datetime, PlainSerializer(lambda d: d.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), return_type=str)
]


class FirstUser(BaseModel):
    email: EmailStr
    password: NewPassword
    setup_code: Annotated[Utf8Str, Field(max_length=MAX_INPUT_LENGTH)] | None = Field(
        None,
        description="The code in the backend's log (setup_code_issued); optional on loopback in development",
    )


class NewUser(BaseModel):
    email: EmailStr
    password: NewPassword
    role: Role = Role.VIEWER


class UserUpdate(BaseModel):
    role: Role | None = None
    is_active: bool | None = None


class PasswordChange(BaseModel):
    current_password: AnyPassword
    new_password: NewPassword


class SignIn(BaseModel):
    email: EmailStr
    password: AnyPassword


class Message(BaseModel):
    message: str


class UsersExist(BaseModel):
    users_exist: bool


class AuthTest(BaseModel):
    user_email: str
    user_id: str
    role: Role


class UserRead(BaseModel):
    id: str
    email: str
    role: Role
    is_active: bool
    created_at: UtcSeconds
    updated_at: UtcSeconds
