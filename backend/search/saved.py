"""Saved searches: each signed-in user (viewers too) keeps named span searches of their own.

`/api/v1/saved-searches`: list (own, by name), create (201; 409 when the name is taken), rename or
change (PUT), delete (204). Another user's search answers 404, like a missing one. A query is
parsed before it is stored, so a saved search always runs; each user keeps at most
`MAX_SAVED_PER_USER`.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Response, status
from pydantic import AfterValidator, BaseModel, StringConstraints
from pydantic_core import PydanticCustomError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from backend.accounts.deps import CurrentUser
from backend.accounts.schemas import UtcSeconds
from backend.deps import DatabaseDep
from backend.ids import new_id
from backend.search.compile import compile_search
from backend.search.language import MAX_QUERY_CHARS, SearchSyntaxError, parse
from backend.search.models import MAX_NAME_CHARS, SavedSearch
from backend.validation import require_utf8

router = APIRouter(prefix="/api/v1/saved-searches", tags=["search"])
MAX_SAVED_PER_USER = 200
NAME_TAKEN = "A saved search with this name exists already"
NOT_FOUND = "Saved search not found"


def _utf8(value: str) -> str:
    try:
        return require_utf8(value)
    except ValueError as exc:
        raise PydanticCustomError("value_error", "{message}", {"message": str(exc)}) from None


def _name(value: str) -> str:
    value = _utf8(value).strip()
    if not value:
        raise PydanticCustomError("value_error", "name cannot be empty")
    return value


def _query(value: str) -> str:
    value = _utf8(value)
    try:
        compile_search(parse(value))
    except SearchSyntaxError as exc:
        raise PydanticCustomError("value_error", "{message}", {"message": str(exc)}) from None
    return value


class SavedSearchIn(BaseModel):
    name: Annotated[str, StringConstraints(max_length=MAX_NAME_CHARS), AfterValidator(_name)]
    query: Annotated[str, StringConstraints(max_length=MAX_QUERY_CHARS), AfterValidator(_query)]


class SavedSearchOut(BaseModel):
    id: str
    name: str
    query: str
    created_at: UtcSeconds


def _out(row: SavedSearch) -> SavedSearchOut:
    return SavedSearchOut(id=row.id, name=row.name, query=row.query, created_at=row.created_at)


SearchId = Annotated[str, Path(min_length=1, max_length=22, pattern=r"^[A-Za-z0-9_-]+$")]


@router.get("")
def list_saved_searches(user: CurrentUser, db: DatabaseDep) -> list[SavedSearchOut]:
    with db.session() as tx:
        rows = tx.scalars(
            select(SavedSearch).where(SavedSearch.user_id == user.id).order_by(SavedSearch.name)
        )
        return [_out(r) for r in rows]


@router.post("", status_code=status.HTTP_201_CREATED, responses={409: {}})
def create_saved_search(body: SavedSearchIn, user: CurrentUser, db: DatabaseDep) -> SavedSearchOut:
    with db.write_transaction() as tx:
        count = tx.scalar(select(func.count()).where(SavedSearch.user_id == user.id))
        if (count or 0) >= MAX_SAVED_PER_USER:
            raise HTTPException(409, f"At most {MAX_SAVED_PER_USER} saved searches per user")
        row = SavedSearch(id=new_id(), user_id=user.id, name=body.name, query=body.query)
        tx.add(row)
        try:
            tx.flush()
        except IntegrityError:
            raise HTTPException(409, NAME_TAKEN) from None
        return _out(row)


@router.put("/{search_id}", responses={404: {}, 409: {}})
def update_saved_search(
    search_id: SearchId, body: SavedSearchIn, user: CurrentUser, db: DatabaseDep
) -> SavedSearchOut:
    with db.session() as tx:
        row = tx.get(SavedSearch, search_id)
        if row is None or row.user_id != user.id:
            raise HTTPException(404, NOT_FOUND)
        row.name, row.query = body.name, body.query
        try:
            tx.flush()
        except IntegrityError:
            raise HTTPException(409, NAME_TAKEN) from None
        return _out(row)


@router.delete("/{search_id}", status_code=status.HTTP_204_NO_CONTENT, responses={404: {}})
def delete_saved_search(search_id: SearchId, user: CurrentUser, db: DatabaseDep) -> Response:
    with db.session() as tx:
        row = tx.get(SavedSearch, search_id)
        if row is None or row.user_id != user.id:
            raise HTTPException(404, NOT_FOUND)
        tx.delete(row)
    return Response(status_code=204)
