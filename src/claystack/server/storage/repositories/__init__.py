"""Repositories: all the SQL of the services, a module per aggregate.

A repository function is named for what it fetches or changes (``user_by_email``,
``lock_for_update``) and takes the connection (or the unit of work, for writes that must
declare their tables first). Services keep the rules, authorisation and answers, and
import no SQLAlchemy: the connection's type is named here as ``Connection``.
"""

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection as Connection

__all__ = ["Connection", "in_order"]


def in_order(stored: Iterable[Any], given: Sequence[dict[str, Any]]) -> list[Any]:
    """The rows an insert of several ``given`` rows returned, in the order they were given
    (a multi-row ``INSERT … RETURNING`` promises none); matched by their ``id``."""
    by_id = {row.id: row for row in stored}
    return [by_id[row["id"]] for row in given]
