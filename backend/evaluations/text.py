"""Text rules of the evaluation API, the same the Junjo Studio client applies before sending.

Bounds are UTF-8 bytes (not characters); keys, names, reasons and identities may not be blank or
carry surrounding whitespace; `service_namespace` and descriptions may be empty.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, Field, Strict
from pydantic_core import PydanticCustomError

MAX_KEY_BYTES = 128
MAX_NAME_BYTES = 256
MAX_DESCRIPTION_BYTES = 2048
MAX_REASON_BYTES = 4096
MAX_IDENTITY_BYTES = 256
MAX_RECORD_ID_BYTES = 64
MAX_VERSION = 2_147_483_647


def _text_rule(max_bytes: int, *, nonempty: bool) -> Callable[[str], str]:
    def check(value: str) -> str:
        if nonempty and not value.strip():
            raise PydanticCustomError("blank_text", "must not be blank")
        if value != value.strip():
            raise PydanticCustomError("surrounding_whitespace", "must not have surrounding whitespace")
        try:
            size = len(value.encode("utf-8"))
        except UnicodeEncodeError:
            raise PydanticCustomError(
                "string_unicode", "must be valid Unicode (no lone surrogates)"
            ) from None
        if size > max_bytes:
            raise PydanticCustomError(
                "string_too_long", "must be at most {max_bytes} UTF-8 bytes", {"max_bytes": max_bytes}
            )
        return value

    return check


KeyText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_KEY_BYTES),
    AfterValidator(_text_rule(MAX_KEY_BYTES, nonempty=True)),
]
NameText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_NAME_BYTES),
    AfterValidator(_text_rule(MAX_NAME_BYTES, nonempty=True)),
]
DescriptionText = Annotated[
    str,
    Field(max_length=MAX_DESCRIPTION_BYTES),
    AfterValidator(_text_rule(MAX_DESCRIPTION_BYTES, nonempty=False)),
]
ReasonText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_REASON_BYTES),
    AfterValidator(_text_rule(MAX_REASON_BYTES, nonempty=True)),
]
IdentityText = Annotated[
    str,
    Field(min_length=1, max_length=MAX_IDENTITY_BYTES),
    AfterValidator(_text_rule(MAX_IDENTITY_BYTES, nonempty=True)),
]
NamespaceText = Annotated[
    str, Field(max_length=MAX_IDENTITY_BYTES), AfterValidator(_text_rule(MAX_IDENTITY_BYTES, nonempty=False))
]
RecordId = Annotated[str, Field(min_length=1, max_length=MAX_RECORD_ID_BYTES)]
Version = Annotated[int, Strict(), Field(ge=1, le=MAX_VERSION)]  # JSON bodies: 2.0 or true is no version
QueryVersion = Annotated[int, Field(ge=1, le=MAX_VERSION)]
SourceRevision = Annotated[str, Field(pattern=r"^(?:[0-9a-f]{40}|[0-9a-f]{64})$")]
TraceId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]
SpanId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]
