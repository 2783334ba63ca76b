"""API key REST routes (reference §1.2), except that the full key is shown only at creation;
listings carry the display prefix, and `key` there is the masked key (prefix + "…"), a field the
reference frontend requires.
"""

from __future__ import annotations

from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, HTTPException, Response, status
from pydantic import AfterValidator, BaseModel
from pydantic_core import PydanticCustomError

from backend.accounts.deps import require_admin
from backend.accounts.schemas import UtcSeconds
from backend.api_keys import service
from backend.deps import DatabaseDep
from backend.validation import Utf8Str

router = APIRouter(prefix="/api_keys", tags=["api_keys"], dependencies=[Depends(require_admin)])
log = structlog.get_logger(__name__)
MAX_NAME_LENGTH = 255


def _clean_name(value: str) -> str:
    value = value.strip()
    if not value:
        raise PydanticCustomError("value_error", "API key name cannot be empty")
    if len(value) > MAX_NAME_LENGTH:
        raise PydanticCustomError(
            "string_too_long",
            "API key name must be at most {max_length} characters",
            {"max_length": MAX_NAME_LENGTH},
        )
    return value


class NewApiKey(BaseModel):
    name: Annotated[Utf8Str, AfterValidator(_clean_name)]


class ApiKeyRead(BaseModel):
    id: str
    name: str
    prefix: str
    created_at: UtcSeconds


class ApiKeyListed(ApiKeyRead):
    key: str  # masked: the full key is never stored


class ApiKeyCreated(ApiKeyRead):
    key: str


@router.post("", status_code=status.HTTP_201_CREATED)
def create_api_key(body: NewApiKey, db: DatabaseDep) -> ApiKeyCreated:
    created = service.create_key(db, body.name)
    log.info("api_key_created", api_key_id=created.id)
    return ApiKeyCreated(
        id=created.id,
        key=created.key,
        name=created.name,
        prefix=created.prefix,
        created_at=created.created_at,
    )


@router.get("")
def list_api_keys(db: DatabaseDep) -> list[ApiKeyListed]:
    return [
        ApiKeyListed(id=k.id, name=k.name, prefix=k.prefix, created_at=k.created_at, key=f"{k.prefix}…")
        for k in service.list_keys(db)
    ]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_api_key(key_id: str, db: DatabaseDep) -> Response:
    if not service.delete_key(db, key_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "API key not found")
    log.info("api_key_deleted", api_key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
