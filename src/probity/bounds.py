"""The bounds every number and time taken from a request must respect before it reaches the
database: one definition, used in paths, queries and bodies (OpenAPI shows them too).

PostgreSQL's ``integer`` (every id and count column here) holds -2^31 … 2^31-1; a larger value
used to reach the driver and come back as a 500. A naive datetime cannot be compared with the
stored UTC times; a filter must say which zone it means.
"""

from __future__ import annotations

from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AwareDatetime

__all__ = ["DB_INT_MAX", "DB_INT_MIN", "AwareDatetime", "DbId", "DbInt", "Offset"]

DB_INT_MIN = -(2**31)
DB_INT_MAX = 2**31 - 1

DbInt = Annotated[int, Ge(DB_INT_MIN), Le(DB_INT_MAX)]
"""Any integer a database ``integer`` column can hold."""

DbId = Annotated[int, Ge(1), Le(DB_INT_MAX)]
"""A row id (a path or query parameter, or a body field naming a row)."""

Offset = Annotated[int, Ge(0), Le(DB_INT_MAX)]
"""A paging offset."""
