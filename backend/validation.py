"""Input rules shared by request models: text must be encodable as UTF-8 (no lone surrogates).

JSON allows a lone surrogate escape such as `"\\ud800"`; Python decodes it into a str that SQLite,
argon2 and every encoder reject later with an exception. Refusing it at the edge turns a would-be
500 into a clean 422.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError


def require_utf8(value: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise PydanticCustomError(
            "string_unicode", "Text must be valid Unicode (no lone surrogates)"
        ) from None
    return value


Utf8Str = Annotated[str, AfterValidator(require_utf8)]
