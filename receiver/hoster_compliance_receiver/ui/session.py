"""The dashboard's session: a cookie signed with the shared session key (PROTOCOL 12), holding
who logged in (the token's audit name, never the token) and when.

The key is read lazily, on the first request that needs a session, so a receiver process boots
without the database (``serve``); while the database does not answer, dashboard pages say 503."""

from __future__ import annotations

import hashlib
import threading
from datetime import timedelta
from typing import Any

from flask import Flask, Request, session
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

from hoster_compliance.auth import token_name
from hoster_compliance.errors import StorageUnavailable
from hoster_compliance.service import ComplianceService

#: How long a login lasts, from the moment of login (not renewed by activity): a working day.
SESSION_LIFETIME = timedelta(hours=12)
COOKIE_NAME = "hc_session"
PREFIX = "/ui"


class SessionKey:
    """The session key, fetched once per process (``ComplianceService.dashboard_secret``) and
    installed as the app's ``secret_key`` (Flask-WTF signs CSRF tokens with it)."""

    def __init__(self, app: Flask, service: ComplianceService) -> None:
        self._app = app
        self._service = service
        self._lock = threading.Lock()
        self._key: str | None = None

    def get(self) -> str | None:
        """The key, or ``None`` while the database cannot be reached to read it."""
        if self._key is None:
            with self._lock:
                if self._key is None:
                    try:
                        key = self._service.dashboard_secret()
                    except StorageUnavailable:
                        return None
                    self._app.secret_key = key
                    self._key = key
        return self._key


class DashboardSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session with SHA-256 and the shared key. Requests outside the
    dashboard that carry no session cookie (webhooks, the API) never fetch the key."""

    digest_method = staticmethod(hashlib.sha256)

    def __init__(self, key: SessionKey) -> None:
        self.key = key

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if self.key.get() is None:
            return None
        return super().get_signing_serializer(app)

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        if not request.path.startswith(PREFIX + "/") and \
                self.get_cookie_name(app) not in request.cookies:
            return self.session_class()
        return super().open_session(app, request)


def configure(app: Flask, service: ComplianceService) -> SessionKey:
    """Session cookie settings (HttpOnly, SameSite=Lax, Secure when ``dashboard_url`` is https,
    12 h) and CSRF token lifetime (the session's: a tab left open all day still submits)."""
    key = SessionKey(app, service)
    app.session_interface = DashboardSessionInterface(key)
    dashboard_url = service.config.dashboard_url or ""
    app.config.update(
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=dashboard_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=int(SESSION_LIFETIME.total_seconds()),
        # Only the dashboard's forms are checked (ui.views calls csrf.protect()): the webhook
        # and the operator API authenticate by signature and bearer token, never by cookie.
        WTF_CSRF_CHECK_DEFAULT=False,
    )
    return key


def log_in(actor: str, now_seconds: float) -> None:
    """Start a new session for ``actor`` (whatever the browser held before is dropped)."""
    session.clear()
    session.permanent = True
    session["actor"] = actor
    session["login_at"] = int(now_seconds)


def current_actor(tokens: tuple[str, ...], now_seconds: float) -> str | None:
    """Who is logged in, or ``None``: no session, older than 12 h, or made with a token that is
    no longer configured (removing a token ends every session made with it)."""
    actor: Any = session.get("actor")
    login_at: Any = session.get("login_at")
    if not isinstance(actor, str) or type(login_at) is not int:
        return None
    if not login_at - 60 <= now_seconds < login_at + SESSION_LIFETIME.total_seconds():
        return None
    if actor not in {token_name(t) for t in tokens}:
        return None
    return actor
