"""The contract's ids (1 to 128 characters of ``[A-Za-z0-9._:-]``), as path parameters and as
body fields, and the one timestamp format every answer uses."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar.params import PathParameter
from msgspec import Meta

__all__ = [
    "ID_PATTERN",
    "AgentIdField",
    "CompanyId",
    "DraftId",
    "IdField",
    "ReviewId",
    "rfc3339",
]

ID_PATTERN = r"^[A-Za-z0-9._:-]{1,128}$"
_ID_DOC = "Opaque id: 1 to 128 characters of [A-Za-z0-9._:-]."

CompanyId = Annotated[
    str, PathParameter(pattern=ID_PATTERN, min_length=1, max_length=128, description=_ID_DOC)
]
ReviewId = Annotated[
    str, PathParameter(pattern=ID_PATTERN, min_length=1, max_length=128, description=_ID_DOC)
]
DraftId = Annotated[
    str, PathParameter(pattern=ID_PATTERN, min_length=1, max_length=128, description=_ID_DOC)
]


# The same limits inside request bodies (msgspec constraints, not path parameters).
IdField = Annotated[str, Meta(pattern=ID_PATTERN)]
AgentIdField = Annotated[str, Meta(min_length=1, max_length=128)]


def rfc3339(value: datetime) -> str:
    return value.isoformat().replace("+00:00", "Z")
