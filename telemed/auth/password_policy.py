"""The rule a new password must meet (no Flask here).

At least ``MIN_LENGTH`` characters, and not guessable: zxcvbn's score (0-4) at least ``MIN_SCORE``
with the user's own data (username, name, e-mail, birth dates) among the words it tries, for the
password as typed and with its separators (spaces, punctuation) removed.

It applies to passwords a person chooses: ``telemed create-user`` and the password change. Seeding,
imports and test factories call ``auth.service.create_user`` directly, which checks no strength.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date

from zxcvbn import zxcvbn

from telemed import errors
from telemed.translatable import _l

MIN_LENGTH = 12
MIN_SCORE = 3
#: zxcvbn's time grows with the length; what is longer than this is judged on its first part.
_JUDGED = 100
_SEPARATORS = re.compile(r"[\W_]+")


def personal_words(*values: str | date | None) -> list[str]:
    """The user's data as words zxcvbn should treat as guessable: each value, its parts (name words,
    the e-mail's local part and domain, a date's day, month and year) and its parts run together."""
    words: set[str] = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, date):
            parts = [f"{value.day:02d}", f"{value.month:02d}", str(value.year)]
            words |= {value.isoformat(), "".join(parts), ".".join(parts), "".join(reversed(parts))}
        else:
            parts = [p for p in re.split(r"[\W_]+", value.lower()) if p]
            words |= {value.lower(), "".join(parts)}
        words |= set(parts)
    return sorted(w for w in words if w)


def check(password: str, personal: Iterable[str] = ()) -> None:
    """Return when ``password`` may be set; raise ``WeakPassword`` (details: ``min_length``,
    ``score``, zxcvbn's ``warning`` and ``suggestions``) otherwise."""
    if len(password) < MIN_LENGTH:
        raise errors.WeakPassword(
            _l("The password must be at least %(count)s characters long.", count=MIN_LENGTH),
            details={"min_length": MIN_LENGTH, "score": None, "warning": "", "suggestions": []},
        )
    words = list(personal)
    judged = password[:_JUDGED]
    joined = _SEPARATORS.sub("", judged)  # "anna-petrova-1988" is as guessable as "annapetrova1988"
    result = min((zxcvbn(p, user_inputs=words) for p in {judged, joined} if p), key=lambda r: r["score"])
    if result["score"] < MIN_SCORE:
        feedback = result["feedback"]
        raise errors.WeakPassword(
            details={
                "min_length": MIN_LENGTH,
                "score": result["score"],
                "warning": feedback.get("warning") or "",
                "suggestions": list(feedback.get("suggestions") or []),
            }
        )
