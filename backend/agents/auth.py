"""Who may read execution evidence: a signed-in browser session, or a Bearer developer token.

junjo's StudioClient sends only `Authorization: Bearer <token>`; the browser sends its session
cookie. Without an Authorization header the session decides (as on every other route). With one,
the token authenticator the evaluation-token feature installs on `app.state.bearer_authenticator`
decides, for the `evidence:read` scope; a Bearer header is never a fallback to the session, and
while no authenticator is installed it is refused (401).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status

from backend.accounts.deps import require_user
from backend.deps import DatabaseDep

EVIDENCE_SCOPE = "evidence:read"
BearerAuthenticator = Callable[[Request, str], Any]  # (request, required scope) -> principal, or raises


def require_evidence_reader(request: Request, db: DatabaseDep) -> Any:
    if "authorization" not in request.headers:
        return require_user(request, db)
    authenticate: BearerAuthenticator | None = getattr(request.app.state, "bearer_authenticator", None)
    if authenticate is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Unauthorized: bearer tokens are not accepted here")
    return authenticate(request, EVIDENCE_SCOPE)


EvidenceReader = Annotated[Any, Depends(require_evidence_reader)]
