"""Authenticator codes for tests: staff made by the Factory are enrolled with ``SECRET``.

The server accepts each code once (replay protection) and only codes of the current 30-second step
or the one before or after. ``next_code`` hands a user a code of a step the tests have not handed
that user yet, waiting for the clock when a user logged in more often than the window allows;
``forget`` (called when the tables are emptied) starts over.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from telemed.auth import otp

SECRET = "KRSXG5CTMVRXEZLUKRSXG5CTMVRXEZLU"  # the test staff's authenticator secret (base32)
DEMO_SECRET = otp.DEMO_SECRET  # the demo staff's (telemed seed-demo)

_handed: dict[tuple[str, str], int] = {}


def code_for(secret: str = SECRET, at: datetime | None = None) -> str:
    """The code an authenticator with ``secret`` shows at ``at`` (now)."""
    return otp.code_at(secret, at or datetime.now(UTC))


def next_code(username: str, secret: str = SECRET) -> str:
    """A code of ``username`` the server has not seen from the tests: of the step before the current
    one (unless that ends within 10 s), then the current one, then the next; after those, it waits
    for the clock."""
    while True:
        now = time.time()
        step = int(now) // otp.INTERVAL
        earliest = step - 1 if now % otp.INTERVAL < otp.INTERVAL - 10 else step
        candidate = max(earliest, _handed.get((username, secret), earliest - 1) + 1)
        if candidate <= step + 1:
            _handed[(username, secret)] = candidate
            return otp.code_at(secret, datetime.fromtimestamp(candidate * otp.INTERVAL, UTC))
        time.sleep((step + 1) * otp.INTERVAL - now + 0.05)


def forget() -> None:
    """Forget the codes handed out (the users they were for are gone)."""
    _handed.clear()
