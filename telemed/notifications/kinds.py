"""What each kind of notification says, in the reader's language (no Flask here).

A notification stores its ``kind`` and language-neutral ``params``; ``title`` and ``body`` render
them for one reader (locale and time zone) when read or mailed. Messages name the time, the doctor
and the specialty, never a diagnosis or a conclusion's content.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from telemed.catalog.specialties import BY_CODE
from telemed.translatable import _l, translations


@dataclass(frozen=True)
class Wording:
    """What a kind says (English message ids, translated when rendered): its name in the settings,
    its one-line title, and what an e-mail adds under the title (None: nothing)."""

    label: str
    title: str
    body: str | None = None


WORDING: dict[str, Wording] = {
    "booked": Wording(
        _l("Booking confirmed").msgid,
        _l("Consultation booked: %(specialty)s, %(time)s").msgid,
    ),
    "cancelled": Wording(
        _l("Consultation cancelled").msgid,
        _l("Consultation of %(time)s is cancelled").msgid,
        _l("Reason: %(reason)s").msgid,
    ),
    "reminder_24h": Wording(
        _l("Reminder a day before").msgid,
        _l("Reminder: consultation tomorrow, %(time)s").msgid,
        _l("Check your camera and microphone beforehand: %(check_url)s").msgid,
    ),
    "reminder_15m": Wording(
        _l("Reminder 15 minutes before").msgid,
        _l("Your consultation starts in 15 minutes (%(time)s)").msgid,
        _l("Check your camera and microphone now: %(check_url)s").msgid,
    ),
    "doctor_in_room": Wording(
        _l("The doctor is in the room").msgid,
        _l("The doctor is in the room: %(specialty)s, %(time)s").msgid,
    ),
    "doctor_late": Wording(
        _l("The doctor is running late").msgid,
        _l("The doctor is running late: the previous consultation runs over").msgid,
        _l("Stay in the room: the doctor will join as soon as the previous consultation ends.").msgid,
    ),
    "conclusion_signed": Wording(
        _l("The doctor's conclusion is ready").msgid,
        _l("The doctor's conclusion is ready: %(specialty)s, %(time)s").msgid,
    ),
    "referral_issued": Wording(
        _l("A referral is issued").msgid,
        _l("The doctor issued a referral: %(specialty)s, %(time)s").msgid,
    ),
    "opinion_status": Wording(
        _l("Second opinion: the request moved").msgid,
        _l("Second opinion request no. %(opinion_id)s: %(status)s").msgid,
        _l("Open the request to see the details.").msgid,
    ),
    "urgent_taken": Wording(
        _l("A doctor took the urgent request").msgid,
        _l("A doctor took your urgent request: %(specialty)s").msgid,
    ),
    "invite": Wording(
        _l("Invitation to the personal cabinet").msgid,
        _l("Invitation to the telemedicine personal cabinet").msgid,
        _l(
            "Your login: %(username)s. Set your password with the one-time link below (valid for 7 days)."
        ).msgid,
    ),
}
KINDS = tuple(WORDING)
#: The kinds a user turns on or off (an invitation always goes out: its reader has no settings yet).
CHOOSABLE = tuple(k for k in KINDS if k != "invite")
CHANNELS = ("in_app", "email")

_OPINION_STATUSES: dict[str, str] = {
    "submitted": _l("received").msgid,
    "contacted": _l("a curator contacted you").msgid,
    "in_review": _l("under the expert's review").msgid,
    "report_issued": _l("the expert's report is issued").msgid,
    "closed": _l("closed").msgid,
}


def when(value: str | None, locale: str, tz: str) -> str:
    """An ISO time from ``params`` as the reader reads it, e.g. «2 дек., 10:00»."""
    if not value:
        return ""
    moment = datetime.fromisoformat(value).astimezone(ZoneInfo(tz))
    return format_datetime(moment, "d MMM, HH:mm", locale=locale)


def _specialty(code: str | None, locale: str) -> str:
    info = BY_CODE.get(code or "")
    if info is None:
        return code or ""
    return info.name_en if locale == "en" else info.name_ru


def _values(params: Mapping[str, object], locale: str, tz: str) -> dict[str, object]:
    gettext = translations(locale).gettext
    status = str(params.get("status", ""))
    return {
        **params,
        "time": when(str(params.get("starts_at") or "") or None, locale, tz),
        "specialty": _specialty(str(params.get("specialty") or ""), locale),
        "status": gettext(_OPINION_STATUSES[status]) if status in _OPINION_STATUSES else status,
        "reason": params.get("reason") or "",
        "opinion_id": params.get("opinion_id", ""),
        "check_url": params.get("check_url", ""),
        "username": params.get("username", ""),
    }


def title(kind: str, params: Mapping[str, object], *, locale: str, tz: str) -> str:
    """The one-line text of a notification (the bell, the e-mail's subject)."""
    wording = WORDING.get(kind)
    if wording is None:
        return kind
    return translations(locale).gettext(wording.title) % _values(params, locale, tz)


def body(kind: str, params: Mapping[str, object], *, locale: str, tz: str) -> str:
    """What an e-mail says under the title ('' when the title says it all); a cancellation
    without a reason says nothing more."""
    template = WORDING[kind].body if kind in WORDING else None
    if template is None or (kind == "cancelled" and not params.get("reason")):
        return ""
    return translations(locale).gettext(template) % _values(params, locale, tz)


def label(kind: str, locale: str) -> str:
    """The settings' name of a kind."""
    return translations(locale).gettext(WORDING[kind].label)
