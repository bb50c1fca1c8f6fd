"""Security headers of every response, and the CSRF rule of every request.

- HTML pages get a Content-Security-Policy that runs scripts from this origin's files only (no inline
  script, no ``eval``, no plugin, no framing); templates hold no ``<script>`` to run and no ``on…=``
  handler (their ``<script type="application/json">`` blocks are data, which no policy runs).
- ``Permissions-Policy`` denies the camera and the microphone everywhere except on the pages whose
  view calls :func:`allow_camera_and_microphone` (the video room, the pre-call check, an urgent
  request's waiting view that turns into the room).
- With ``SECURE_COOKIES`` (``TELEMED_SECURE_COOKIES``) the cookies are ``Secure`` (``config.py``)
  and every response carries HSTS.
- CSRF (:func:`csrf_applies`): a request authenticated by the session cookie needs the token,
  whatever else it carries; a request authenticated by a bearer token alone does not.
"""

from __future__ import annotations

from flask import Flask, Response, g, request
from flask_login import current_user

PAGE_CSP = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "media-src 'self' blob:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
_DENIED = ("geolocation=()", "payment=()", "usb=()", "display-capture=()")
MEDIA_DENIED = ", ".join(("camera=()", "microphone=()", *_DENIED))
MEDIA_ALLOWED = ", ".join(("camera=(self)", "microphone=(self)", *_DENIED))
HSTS = "max-age=63072000; includeSubDomains"
_MEDIA_FLAG = "telemed_camera_and_microphone"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def allow_camera_and_microphone() -> None:
    """Called by a page's view: this page may use the camera and the microphone."""
    setattr(g, _MEDIA_FLAG, True)


def cookie_authenticated() -> bool:
    """Whether this request's user was loaded from the session cookie (not from a bearer token)."""
    user = current_user
    return bool(user and user.is_authenticated and getattr(user, "token", None) is None)


def csrf_applies(*, bearer: bool, session_cookie: bool) -> bool:
    """Whether this request must carry a valid CSRF token.

    Safe methods never do. A request authenticated by the session cookie always does, even with an
    ``Authorization`` header. Otherwise a bearer-token request does not; a page form does (the login
    form included); an API call does only while it sends a session cookie."""
    if request.method in _SAFE_METHODS:
        return False
    if cookie_authenticated():
        return True
    if bearer:
        return False
    return not request.path.startswith("/api/") or session_cookie


def _add_headers(app: Flask, response: Response) -> Response:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", MEDIA_ALLOWED if g.get(_MEDIA_FLAG) else MEDIA_DENIED)
    if response.mimetype == "text/html":
        headers.setdefault("Content-Security-Policy", PAGE_CSP)
    if app.config["SECURE_COOKIES"]:
        headers.setdefault("Strict-Transport-Security", HSTS)
    if current_user and getattr(current_user, "is_authenticated", False):
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    app.after_request(lambda response: _add_headers(app, response))
