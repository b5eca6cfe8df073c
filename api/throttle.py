"""Sign-in throttling per account name and per client address, with the `limits` library.

Every sign-in attempt (API or page) and every password-change attempt takes one hit from two moving
windows: the client address's and the name's. When either is spent the attempt is refused with 429 and
Retry-After before any password is checked, so guessing runs at the configured rate at most, whatever
the number of parallel connections (the hit is taken before the slow KDF, so racers cannot slip past).
A successful sign-in clears the name's window: the owner proved the password; the address keeps its
count, which is what a guesser cycling through names meets.

The default storage is this process's memory: each process throttles on its own, and a restart forgets.
Several processes serving one address should name a shared storage (SCTAC_RATE_LIMIT_STORAGE, e.g.
redis://host:6379); whatever the storage, the lock-out counter (workflow.accounts) lives in the database
and holds across processes and restarts.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from workflow.settings import Settings

NAMESPACE = "sctac-sign-in"


@dataclass(frozen=True)
class Refused:
    """An attempt over the limit: wait `retry_after` seconds."""

    retry_after: int


class SignInThrottle:
    def __init__(self, *, per_account: str, per_address: str, storage_uri: str = "memory://") -> None:
        self.limiter = MovingWindowRateLimiter(storage_from_string(storage_uri))
        self.per_account: RateLimitItem = parse(per_account)
        self.per_address: RateLimitItem = parse(per_address)

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInThrottle:
        return cls(
            per_account=settings.signin_rate_account,
            per_address=settings.signin_rate_address,
            storage_uri=settings.rate_limit_storage,
        )

    def _wait(self, item: RateLimitItem, key: str) -> int:
        reset = self.limiter.get_window_stats(item, NAMESPACE, key).reset_time
        return max(1, math.ceil(reset - time.time()))

    def attempt(self, *, username: str, address: str | None) -> Refused | None:
        """Take one attempt from the address's and the name's windows; Refused when either is spent."""
        keys = [(self.per_address, f"address:{address or 'unknown'}")]
        # Names compare without case here, so 'Admin' and 'admin' share one window.
        keys.append((self.per_account, f"account:{username.lower()[:64]}"))
        for item, key in keys:
            if not self.limiter.hit(item, NAMESPACE, key):
                return Refused(self._wait(item, key))
        return None

    def succeeded(self, *, username: str) -> None:
        self.limiter.clear(self.per_account, NAMESPACE, f"account:{username.lower()[:64]}")
