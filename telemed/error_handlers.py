"""One place that turns errors into responses: JSON for the API, pages otherwise."""

from __future__ import annotations

import logging

from flask import Flask, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import get_translations
from flask_limiter.errors import RateLimitExceeded
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from telemed import errors
from telemed.translatable import _l
from telemed.web import wants_json

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_type",
    422: "validation_error",
    429: "rate_limited",
}


def translate(msgid: str) -> str:
    """This request's language (``i18n.select_locale``) for a message id."""
    return get_translations().gettext(msgid)


def error_response(exc: errors.DomainError):
    response = jsonify(exc.to_dict(translate))
    response.status_code = exc.status
    if exc.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="telemed"'
    return response


def _page_error(exc: errors.DomainError):
    if isinstance(exc, errors.NotAuthenticated):
        return redirect(url_for("auth.login", next=request.full_path))
    if request.method == "GET":
        return render_template("error.html", error=exc), exc.status
    flash(exc.render(translate), "error")
    return redirect(request.referrer or url_for("scheduling.cabinet"))


def register_error_handlers(app: Flask) -> None:
    app.jinja_env.globals["translate"] = translate

    @app.errorhandler(errors.DomainError)
    def _domain(exc: errors.DomainError):
        return error_response(exc) if wants_json() else _page_error(exc)

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError):
        err = errors.NotPermitted(
            _l("The form expired or the CSRF token is missing. Reload the page and try again.")
        )
        err.code = "csrf_failed"
        return error_response(err) if wants_json() else _page_error(err)

    @app.errorhandler(RateLimitExceeded)
    def _rate(exc: RateLimitExceeded):
        err = errors.RateLimited()
        if wants_json():
            response = error_response(err)
        else:
            response = render_template("error.html", error=err), 429
            return response
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException):
        if not wants_json():
            return exc
        err = errors.DomainError(exc.description or exc.name)
        err.code = _HTTP_CODES.get(exc.code or 500, "error")
        err.status = exc.code or 500
        response = error_response(err)
        for name, value in exc.get_headers():
            if name.lower() == "allow":  # 405: which methods the resource has
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error on %s %s", request.method, request.path)
        err = errors.InternalError()
        return error_response(err) if wants_json() else (render_template("error.html", error=err), 500)
