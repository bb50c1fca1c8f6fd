"""What each kind of notification says, in the reader's language (no Flask here).

A notification stores its ``kind`` and language-neutral ``params``; ``title`` and ``body`` render
them for one reader (locale and time zone) when read or mailed. Messages name the time, the doctor
and the specialty, never a diagnosis or a conclusion's content.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime

from telemed.catalog.specialties import BY_CODE
from telemed.translatable import Text, _l, translations

KINDS = (
    "booked",
    "cancelled",
    "reminder_24h",
    "reminder_15m",
    "doctor_in_room",
    "doctor_late",
    "conclusion_signed",
    "referral_issued",
    "opinion_status",
    "urgent_taken",
    "invite",
)
#: The kinds a user turns on or off (an invitation always goes out: its reader has no settings yet).
CHOOSABLE = tuple(k for k in KINDS if k != "invite")
CHANNELS = ("in_app", "email")

#: What a member reads in the settings for each kind.
LABELS: dict[str, Text] = {
    "booked": _l("Booking confirmed"),
    "cancelled": _l("Consultation cancelled"),
    "reminder_24h": _l("Reminder a day before"),
    "reminder_15m": _l("Reminder 15 minutes before"),
    "doctor_in_room": _l("The doctor is in the room"),
    "doctor_late": _l("The doctor is running late"),
    "conclusion_signed": _l("The doctor's conclusion is ready"),
    "referral_issued": _l("A referral is issued"),
    "opinion_status": _l("Second opinion: the request moved"),
    "urgent_taken": _l("A doctor took the urgent request"),
    "invite": _l("Invitation to the personal cabinet"),
}

_TITLES: dict[str, str] = {
    "booked": _l("Consultation booked: %(specialty)s, %(time)s").msgid,
    "cancelled": _l("Consultation of %(time)s is cancelled").msgid,
    "reminder_24h": _l("Reminder: consultation tomorrow, %(time)s").msgid,
    "reminder_15m": _l("Your consultation starts in 15 minutes (%(time)s)").msgid,
    "doctor_in_room": _l("The doctor is in the room: %(specialty)s, %(time)s").msgid,
    "doctor_late": _l("The doctor is running late: the previous consultation runs over").msgid,
    "conclusion_signed": _l("The doctor's conclusion is ready: %(specialty)s, %(time)s").msgid,
    "referral_issued": _l("The doctor issued a referral: %(specialty)s, %(time)s").msgid,
    "opinion_status": _l("Second opinion request no. %(opinion_id)s: %(status)s").msgid,
    "urgent_taken": _l("A doctor took your urgent request: %(specialty)s").msgid,
    "invite": _l("Invitation to the telemedicine personal cabinet").msgid,
}

_OPINION_STATUSES: dict[str, str] = {
    "submitted": _l("received").msgid,
    "contacted": _l("a curator contacted you").msgid,
    "in_review": _l("under the expert's review").msgid,
    "report_issued": _l("the expert's report is issued").msgid,
    "closed": _l("closed").msgid,
}

_BODIES: dict[str, str] = {
    "cancelled": _l("Reason: %(reason)s").msgid,
    "reminder_24h": _l("Check your camera and microphone beforehand: %(check_url)s").msgid,
    "reminder_15m": _l("Check your camera and microphone now: %(check_url)s").msgid,
    "doctor_late": _l(
        "Stay in the room: the doctor will join as soon as the previous consultation ends."
    ).msgid,
    "opinion_status": _l("Open the request to see the details.").msgid,
    "invite": _l(
        "Your login: %(username)s. Set your password with the one-time link below (valid for 7 days)."
    ).msgid,
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
    template = _TITLES.get(kind)
    if template is None:
        return kind
    return translations(locale).gettext(template) % _values(params, locale, tz)


def body(kind: str, params: Mapping[str, object], *, locale: str, tz: str) -> str:
    """What an e-mail says under the title ('' when the title says it all); a cancellation
    without a reason says nothing more."""
    template = _BODIES.get(kind)
    if template is None or (kind == "cancelled" and not params.get("reason")):
        return ""
    return translations(locale).gettext(template) % _values(params, locale, tz)


def label(kind: str, locale: str) -> str:
    """The settings' name of a kind."""
    return LABELS[kind].render(translations(locale).gettext)
