"""Request and response bodies of the accounts routes (shapes as the reference, §1.1)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, EmailStr, PlainSerializer
from pydantic_core import PydanticCustomError

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


class NewUser(BaseModel):
    email: EmailStr
    password: NewPassword


class SignIn(BaseModel):
    email: EmailStr
    password: AnyPassword


class Message(BaseModel):
    message: str


class UsersExist(BaseModel):
    users_exist: bool


class AuthTest(BaseModel):
    user_email: str


class UserRead(BaseModel):
    id: str
    email: str
    is_active: bool
    created_at: UtcSeconds
    updated_at: UtcSeconds
