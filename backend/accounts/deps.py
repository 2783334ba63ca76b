"""Route guards: `require_user` (a valid session of an active user) and `require_admin` (that
user has the admin role).

Use `APIRouter(dependencies=[Depends(require_user)])` for a whole router, or a `CurrentUser`
parameter when the handler needs to know who is signed in; likewise `Depends(require_admin)` /
`AdminUser` for anything that changes the instance or costs money (users, API keys, LLM calls,
WAL flushes). Viewers get 403 there; reading spans, traces and workflows needs `require_user` only.
401 details match the reference.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status

from backend.accounts.sessions import session_expired
from backend.db.models import Role, User
from backend.deps import DatabaseDep

NO_SESSION = "Unauthorized: No valid session"
USER_NOT_FOUND = "Unauthorized: User not found"
INVALID_REVISION = "Unauthorized: Invalid session revision"
REVOKED = "Unauthorized: Session has been revoked"
EXPIRED = "Unauthorized: Session has expired; sign in again"
INACTIVE = "Unauthorized: User is deactivated"
ADMIN_ONLY = "Forbidden: this action needs the admin role"


@dataclass(frozen=True)
class AuthenticatedUser:
    id: str
    email: str
    role: Role

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


def _unauthorized(request: Request, detail: str) -> HTTPException:
    request.session.clear()  # the response then deletes the useless cookie
    return HTTPException(status.HTTP_401_UNAUTHORIZED, detail=detail)


def require_user(request: Request, db: DatabaseDep) -> AuthenticatedUser:
    session = request.session
    user_id = session.get("uid")
    if not isinstance(user_id, str) or not user_id:
        raise _unauthorized(request, NO_SESSION)
    if session_expired(session, datetime.now(UTC)):
        raise _unauthorized(request, EXPIRED)
    revision = session.get("rev")
    with db.session() as tx:
        user = tx.get(User, user_id)
        if user is None:
            raise _unauthorized(request, USER_NOT_FOUND)
        if not isinstance(revision, int) or isinstance(revision, bool):
            raise _unauthorized(request, INVALID_REVISION)
        if revision != user.session_revision:
            raise _unauthorized(request, REVOKED)
        if not user.is_active:
            raise _unauthorized(request, INACTIVE)
        return AuthenticatedUser(id=user.id, email=user.email, role=Role(user.role))


CurrentUser = Annotated[AuthenticatedUser, Depends(require_user)]


def require_admin(user: CurrentUser) -> AuthenticatedUser:
    if not user.is_admin:
        raise HTTPException(status.HTTP_403_FORBIDDEN, detail=ADMIN_ONLY)
    return user


AdminUser = Annotated[AuthenticatedUser, Depends(require_admin)]
