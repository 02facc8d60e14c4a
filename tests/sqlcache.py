"""Compiled SQL shared by every engine a test worker builds.

SQLAlchemy keeps compiled statements per engine and keys them by the dialect *instance*. A
process of studybot builds one engine and compiles each statement once; the suite builds a
fresh engine for nearly every test (a fresh database each), so it compiled the same few dozen
statements again in every test: about a seventh of a feature test's time.

Here every engine built through ``bot.store.db.create_engine`` in a test worker shares one
cache, keyed by the dialect's class and server version instead of its instance. For one
backend and one server those dialects are configured alike (same options, same server), so a
statement compiles to the same SQL, parameter order and type conversions for all of them.
Each test still gets its own engine, pool, connections and database.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.util import LRUCache

import bot.store.db


class DialectClassCache(LRUCache[Any, Any]):
    """An LRU cache of compiled SQL whose keys name the dialect by class and server version."""

    @staticmethod
    def _shared(key: Any) -> Any:
        dialect, *rest = key  # (dialect, statement cache key, columns, schema map, many)
        return (type(dialect), dialect.server_version_info, *rest)

    def get(self, key: Any, default: Any = None) -> Any:
        return super().get(self._shared(key), default)

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(self._shared(key), value)


def sharing(cache: DialectClassCache) -> Any:
    """``create_async_engine`` as ``bot.store.db`` calls it, with ``cache`` as the engine's
    compiled cache."""
    make = bot.store.db.create_async_engine

    def create_async_engine(url: Any, **kwargs: Any) -> Any:
        options = {"compiled_cache": cache, **kwargs.pop("execution_options", {})}
        return make(url, execution_options=options, **kwargs)

    return create_async_engine
