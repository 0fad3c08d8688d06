"""Rate limits and open streams shared by every server process on one PostgreSQL store: the same interface as
:class:`~api.limits.RateLimiter` and :class:`~api.limits.OpenStreams`, with the buckets and streams in the
database (``scripts/bench_shared_limits.py`` measures what that adds to a request)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, text

from api.leases import NOW, Leases
from api.limits import refilled, wait_for

_LOCK_BUCKETS = text(f"""
    INSERT INTO rate_buckets AS b (key, tokens, counted_at, per_minute)
    SELECT key, per_minute, {NOW}, per_minute
    FROM unnest(CAST(:keys AS text[]), CAST(:rates AS integer[])) AS asked(key, per_minute) ORDER BY key
    ON CONFLICT (key) DO UPDATE SET per_minute = excluded.per_minute
    RETURNING b.key, b.tokens, b.counted_at, {NOW}""")
"""Lock every bucket asked for (a new one starts full) and read it: one statement, keys in one order."""
_TAKE = text("""
    UPDATE rate_buckets AS b SET tokens = taken.tokens, counted_at = :now
    FROM unnest(CAST(:keys AS text[]), CAST(:tokens AS float8[])) AS taken(key, tokens) WHERE b.key = taken.key""")


class SharedRateLimiter:
    """Token buckets per key in the ``rate_buckets`` table; a request's buckets are locked while it takes."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def take(self, limits: list[tuple[str, int]]) -> float:
        """Take one token from every ``(key, per_minute)`` bucket, or none: 0, or the seconds to wait."""
        rates = dict(limits)
        keys = sorted(rates)
        with self._engine.begin() as connection:
            rows = connection.execute(_LOCK_BUCKETS, {"keys": keys, "rates": [rates[k] for k in keys]}).all()
            now = rows[0][3]
            tokens = {key: refilled(held, counted, rates[key], now) for key, held, counted, _ in rows}
            wait = wait_for([(tokens[key], rates[key]) for key in keys])
            if wait:
                return wait  # nothing taken (new buckets stay, full)
            connection.execute(_TAKE, {"keys": keys, "tokens": [float(tokens[k] - 1) for k in keys], "now": now})
        return 0.0


class SharedOpenStreams:
    """Open event streams as leases, counted across every process; a new one past the cap is refused."""

    def __init__(self, leases: Leases) -> None:
        self._leases = leases

    def hold(self, key: str, cap: int) -> Callable[[], None] | None:
        """Count one more open stream for ``key`` and return what ends it (idempotent), or None at ``cap``."""
        with self._leases.deciding("stream", key) as connection:
            holding, _ = self._leases.count(connection, "stream", key)
            if holding >= cap:
                return None
            lease = self._leases.add(connection, "stream", key)
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._leases.end(lease)

        return release
