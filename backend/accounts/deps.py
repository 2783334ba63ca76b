"""`require_user`: the session check every protected route depends on.

Use `APIRouter(dependencies=[Depends(require_user)])` for a whole router, or a `CurrentUser`
parameter when the handler needs to know who is signed in. 401 details match the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from backend.db.models import User
from backend.deps import DatabaseDep

NO_SESSION = "Unauthorized: No valid session"
USER_NOT_FOUND = "Unauthorized: User not found"
INVALID_REVISION = "Unauthorized: Invalid session revision"
REVOKED = "Unauthorized: Session has been revoked"


@dataclass(frozen=True)
class AuthenticatedUser:
    id: str
    email: str


def _unauthorized(request: Request, detail: str) -> HTTPException:
    request.session.clear()  # the response then deletes the useless cookie
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail)


def require_user(request: Request, db: DatabaseDep) -> AuthenticatedUser:
    session = request.session
    user_id = session.get("uid")
    if not isinstance(user_id, str) or not user_id:
        raise _unauthorized(request, NO_SESSION)
    revision = session.get("rev")
    with db.session() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise _unauthorized(request, USER_NOT_FOUND)
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise _unauthorized(request, INVALID_REVISION)
        if revision != user.session_revision:
            raise _unauthorized(request, REVOKED)
        return AuthenticatedUser(id=user.id, email=user.email)


CurrentUser = Annotated[AuthenticatedUser, Depends(require_user)]
