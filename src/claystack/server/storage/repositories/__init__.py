"""Repositories: all the SQL of the services, a module per aggregate.

A repository function is named for what it fetches or changes (``user_by_email``,
``lock_for_update``) and takes the connection (or the unit of work, for writes that must
declare their tables first). Services keep the rules, authorisation and answers, and
import no SQLAlchemy: the connection's type is named here as ``Connection``.
"""

from sqlalchemy.ext.asyncio import AsyncConnection as Connection

__all__ = ["Connection"]
