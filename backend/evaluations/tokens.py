"""Developer access tokens: Bearer credentials for the evaluation and evidence APIs.

A signed-in admin creates a token with a name, scopes and an optional expiry; the token is shown
once and stored as a SHA-256 digest plus a display prefix (`jcli_` + 64 random URL-safe
characters carries 384 bits, so a fast unsalted digest is safe). A token acts as the user who
created it and stops working when it expires, is revoked, or that user is deactivated or deleted.

`require_scope(scope)` is the dependency evaluation and evidence routes use:
- `Authorization: Bearer <token>` present: the token must be valid (401 with
  `WWW-Authenticate: Bearer` otherwise, never a fallback to the session) and carry the scope
  (403 `{"code": "insufficient_evaluation_token_scope", "missing_scopes": [...]}` otherwise).
  Ingestion API keys and passwords are not tokens and are refused the same way.
- no Authorization header: the browser session decides (`require_user`; writes need an admin).
Writing through a token also needs its user to still be an admin.
Such Bearer requests carry no cookie, which is why the CSRF guard lets them through
(backend.middleware).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated

import structlog
from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import AfterValidator, BaseModel, Field
from sqlalchemy import and_, delete, or_, select

from backend.accounts.deps import ADMIN_ONLY, AdminUser, require_admin, require_user
from backend.accounts.schemas import UtcSeconds
from backend.db.engine import Database
from backend.db.models import Role, User
from backend.deps import DatabaseDep
from backend.evaluations.cursor import created_at_of, decode_cursor, encode_cursor
from backend.evaluations.errors import ApiError, NotFound
from backend.evaluations.models import EvaluationToken
from backend.evaluations.text import NameText
from backend.ids import new_id

log = structlog.get_logger(__name__)

TOKEN_PREFIX = "jcli_"  # noqa: S105  (a public prefix, not a secret)
TOKEN_RANDOM_BYTES = 48
DISPLAY_PREFIX_LENGTH = 12
MAX_TOKEN_LENGTH = 256


class Scope(StrEnum):
    EVALUATION_READ = "evaluation:read"
    EVALUATION_WRITE = "evaluation:write"
    EVIDENCE_READ = "evidence:read"


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: a user, through a token (with its scopes) or their session."""

    user_id: str
    token_id: str | None


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _unauthorized(detail: str) -> ApiError:
    return ApiError(401, {"detail": detail}, headers={"WWW-Authenticate": "Bearer"})


def _bearer_token(header: str) -> str:
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token or token != token.strip():
        raise _unauthorized("Authorization must be `Bearer <developer access token>`")
    return token


def authenticate(db: Database, token: str, required: frozenset[Scope]) -> Principal:
    if not token.startswith(TOKEN_PREFIX) or len(token) > MAX_TOKEN_LENGTH:
        raise _unauthorized("Not a developer access token")
    now = datetime.now(UTC)
    with db.session() as tx:
        row = tx.execute(
            select(EvaluationToken, User.is_active, User.role)
            .join(User, User.id == EvaluationToken.created_by_user_id)
            .where(EvaluationToken.token_sha256 == digest(token))
        ).one_or_none()
    if row is None:
        raise _unauthorized("Unknown or revoked developer access token")
    record, user_active, role = row
    if record.expires_at is not None and record.expires_at <= now:
        raise _unauthorized("Developer access token has expired")
    if not user_active:
        raise _unauthorized("The token's user is deactivated")
    missing = sorted(required - set(record.scopes.split()))
    if missing:
        raise ApiError(403, {"code": "insufficient_evaluation_token_scope", "missing_scopes": missing})
    if Scope.EVALUATION_WRITE in required and role != Role.ADMIN:
        raise ApiError(403, {"detail": ADMIN_ONLY})  # the token's user was made a viewer
    return Principal(user_id=record.created_by_user_id, token_id=record.id)


def require_scope(*scopes: Scope) -> Callable[[Request, Database], Principal]:
    """Dependency: a valid Bearer token holding `scopes`, or (no Authorization header) a session."""
    required = frozenset(scopes)

    def dependency(request: Request, db: DatabaseDep) -> Principal:
        header = request.headers.get("authorization")
        if header is None:
            user = require_user(request, db)
            if Scope.EVALUATION_WRITE in required:
                require_admin(user)
            return Principal(user_id=user.id, token_id=None)
        return authenticate(db, _bearer_token(header), required)

    return dependency


EvaluationReader = Annotated[Principal, Depends(require_scope(Scope.EVALUATION_READ))]
EvaluationWriter = Annotated[Principal, Depends(require_scope(Scope.EVALUATION_WRITE))]
EvidenceReader = Annotated[Principal, Depends(require_scope(Scope.EVIDENCE_READ))]


# ---- management by a signed-in admin (session only) ----


def _unique(scopes: list[Scope]) -> list[Scope]:
    if len(set(scopes)) != len(scopes):
        raise ValueError("scopes must not repeat")
    return sorted(scopes)


class TokenCreate(BaseModel):
    name: NameText
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=3), AfterValidator(_unique)]
    expires_at: datetime | None = None


class TokenRead(BaseModel):
    id: str
    name: str
    prefix: str
    scopes: list[Scope]
    expires_at: UtcSeconds | None
    created_by_user_id: str
    created_at: UtcSeconds


class TokenCreated(TokenRead):
    token: str


class TokenList(BaseModel):
    items: list[TokenRead]
    next_cursor: str | None


def _read(record: EvaluationToken) -> TokenRead:
    return TokenRead(
        id=record.id,
        name=record.name,
        prefix=record.prefix,
        scopes=[Scope(s) for s in record.scopes.split()],
        expires_at=record.expires_at,
        created_by_user_id=record.created_by_user_id,
        created_at=record.created_at,
    )


router = APIRouter(prefix="/api/v1/evaluation-tokens", tags=["evaluation-tokens"])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_token(body: TokenCreate, user: AdminUser, db: DatabaseDep) -> TokenCreated:
    expires_at = body.expires_at
    if expires_at is not None:
        if expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= datetime.now(UTC):
            raise ApiError(
                422,
                {
                    "detail": [
                        {"type": "value_error", "loc": ["body", "expires_at"], "msg": "must be in the future"}
                    ]
                },
            )
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_RANDOM_BYTES)
    record = EvaluationToken(
        id=new_id(),
        token_sha256=digest(token),
        prefix=token[:DISPLAY_PREFIX_LENGTH],
        name=body.name,
        scopes=" ".join(body.scopes),
        created_by_user_id=user.id,
        expires_at=expires_at,
    )
    with db.session() as tx:
        tx.add(record)
    log.info("evaluation_token_created", token_id=record.id, user_id=user.id, scopes=record.scopes)
    return TokenCreated(**_read(record).model_dump(), token=token)


@router.get("")
def list_tokens(
    _: AdminUser,
    db: DatabaseDep,
    cursor: Annotated[str | None, Query(min_length=1, max_length=1024)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
) -> TokenList:
    query = select(EvaluationToken).order_by(EvaluationToken.created_at.desc(), EvaluationToken.id.desc())
    if cursor is not None:
        position = decode_cursor(cursor, "evaluation-tokens", ("created_at", "id"))
        created_at = created_at_of(position)
        query = query.where(
            or_(
                EvaluationToken.created_at < created_at,
                and_(EvaluationToken.created_at == created_at, EvaluationToken.id < position["id"]),
            )
        )
    with db.session() as tx:
        rows = list(tx.scalars(query.limit(limit + 1)))
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        last = rows[-1]
        next_cursor = encode_cursor("evaluation-tokens", created_at=last.created_at.isoformat(), id=last.id)
    return TokenList(items=[_read(r) for r in rows], next_cursor=next_cursor)


@router.delete("/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_token(token_id: Annotated[str, Path(max_length=64)], user: AdminUser, db: DatabaseDep) -> Response:
    with db.session() as tx:
        deleted = db.delete_rows(tx, delete(EvaluationToken).where(EvaluationToken.id == token_id))
    if not deleted:
        raise NotFound("Developer access token not found")
    log.info("evaluation_token_revoked", token_id=token_id, user_id=user.id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
