"""Locale and time-zone selection, and date formatting for templates."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urlencode

from flask import Flask, current_app, request, session
from flask_babel import format_date, format_datetime, get_locale, get_translations
from flask_login import current_user

from telemed.catalog.specialties import BY_CODE
from telemed.scheduling.status import Status
from telemed.translatable import _l
from telemed.web import viewer_tz

LOCALES = ("ru", "en")


def select_locale() -> str:
    """The language of this request: ``api_locale`` for the JSON API, ``page_locale`` otherwise."""
    return api_locale() if request.path.startswith("/api/") else page_locale()


def _profile_locale() -> str | None:
    if current_user and current_user.is_authenticated and current_user.locale in LOCALES:
        return str(current_user.locale)
    return None


def api_locale() -> str:
    """API clients: the page's language for a browser session that chose one, then
    ``Accept-Language``, then the user's profile, then English."""
    if session.get("lang") in LOCALES:
        return str(session["lang"])
    return request.accept_languages.best_match(LOCALES) or _profile_locale() or "en"


def page_locale() -> str:
    """Pages: ``?lang=`` (remembered in the session), then the profile, then the default (Russian)."""
    lang = request.args.get("lang")
    if lang in LOCALES:
        session["lang"] = lang
        return lang
    if session.get("lang") in LOCALES:
        return session["lang"]
    return _profile_locale() or str(current_app.config["DEFAULT_LOCALE"])


def lang_switch_url(code: str) -> str:
    """The link to this page in language ``code``: only a query (``?day=2026-12-02&lang=en``), so it
    keeps the page and its query and can never point to another site (no path, no host in it)."""
    query = [(key, value) for key, value in request.args.items(multi=True) if key != "lang"]
    return "?" + urlencode([*query, ("lang", code)])


def select_timezone() -> str:
    return viewer_tz().key


def local_time(value: datetime | None, fmt: str = "short") -> str:
    """Format an aware UTC datetime in the viewer's zone and locale."""
    if value is None:
        return ""
    return format_datetime(value, fmt)  # rebased to the viewer's zone (select_timezone)


def specialty_name(code: str) -> str:
    info = BY_CODE.get(code)
    if info is None:
        return code
    return info.name_en if str(get_locale()) == "en" else info.name_ru


STATUS_LABELS = {
    Status.WAITING: _l("Waiting for a doctor"),
    Status.SCHEDULED: _l("Scheduled"),
    Status.IN_PROGRESS: _l("In progress"),
    Status.COMPLETED: _l("Completed"),
    Status.CANCELLED: _l("Cancelled"),
    Status.NO_SHOW: _l("Missed"),
}


def status_label(status: str) -> str:
    label = STATUS_LABELS.get(Status(status)) if status in set(Status) else None
    return label.render(get_translations().gettext) if label else status


def register_template_helpers(app: Flask) -> None:
    app.jinja_env.filters["local_time"] = local_time
    app.jinja_env.filters["format_date"] = format_date
    app.jinja_env.globals["spec_name"] = specialty_name
    app.jinja_env.globals["status_label"] = status_label
    app.jinja_env.globals["get_locale"] = get_locale
    app.jinja_env.globals["LOCALES"] = LOCALES
    app.jinja_env.globals["lang_switch_url"] = lang_switch_url
