"""The dashboard's blueprint and what every page shares: the login guard, CSRF on every POST,
the security headers (Content-Security-Policy on every page), and HTML error pages."""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException

from hoster_compliance.errors import ComplianceError, StorageUnavailable
from hoster_compliance.protocol.categories import category_name
from hoster_compliance.service import RETRY_AFTER_SECONDS, ComplianceService
from hoster_compliance.store.engine import storage_unavailable
from hoster_compliance.timeutil import format_time

from .present import json_text, safe_next
from .session import PREFIX, SessionKey, current_actor

log = logging.getLogger("hoster_compliance.receiver.ui")

bp = Blueprint("ui", __name__, url_prefix=PREFIX, template_folder="templates",
               static_folder="static", static_url_path="/static")
csrf = CSRFProtect()
bp.add_app_template_filter(json_text, "json_text")
bp.add_app_template_filter(category_name, "category_name")

#: Nothing from another origin; no inline script or style; never framed (clickjacking).
CSP = ("default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
       "object-src 'none'")
_OPEN_ENDPOINTS = frozenset({"ui.login", "ui.login_post", "ui.static"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def service() -> ComplianceService:
    return current_app.extensions["hoster_compliance"]  # type: ignore[no-any-return]


def session_key() -> SessionKey:
    return current_app.extensions["hoster_compliance_ui_key"]  # type: ignore[no-any-return]


def page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page with what every page needs (the server's time for the countdown)."""
    svc = service()
    return render_template(
        template, now_iso=format_time(svc.clock()), service_name=svc.config.service_name,
        actor=g.get("actor"), **context,
    ), status


@bp.before_request
def guard() -> Any:
    """Every dashboard page but the login needs a session; every POST a CSRF token."""
    if request.endpoint == "ui.static":
        return None
    if session_key().get() is None:
        raise StorageUnavailable("Storage is unavailable; retry later.")
    svc = service()
    g.actor = current_actor(svc.config.operator_tokens, svc.clock().timestamp())
    if g.actor is None and request.endpoint not in _OPEN_ENDPOINTS:
        if request.method in _SAFE_METHODS:
            return redirect(url_for("ui.login", next=safe_next(request.full_path.rstrip("?"))))
        flash("Your session has ended; log in again. Nothing was recorded.", "error")
        return redirect(url_for("ui.login"), 303)
    if request.method not in _SAFE_METHODS:
        csrf.protect()
    return None


@bp.after_request
def security_headers(response: Response) -> Response:
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: Flask-WTF checks the Referer of POSTs over https
    response.headers["Referrer-Policy"] = "same-origin"
    if request.endpoint != "ui.static":
        response.headers["Cache-Control"] = "no-store"  # pages hold URLs of reported content
    return response


def error_page(status: int, code: str, message: str) -> Response:
    """An HTML error page with the error code of PROTOCOL 2.3 (never a traceback)."""
    body, _ = page("ui/error.html", status, error_status=status, code=code, message=message)
    response = current_app.make_response((body, status))
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return security_headers(response)


@bp.errorhandler(ComplianceError)
def _compliance_error(exc: ComplianceError) -> Response:
    return error_page(exc.status, exc.code, exc.message)


@bp.errorhandler(CSRFError)
def _csrf_error(exc: CSRFError) -> Response:
    log.info("dashboard form refused: %s", exc.description)
    return error_page(400, "csrf_failed",
                      "The form was not sent by this dashboard, or is older than the session "
                      f"({exc.description}). Reload the page and send it again.")


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
        exc.code or 400, "bad_request")
    return error_page(exc.code or 400, code, exc.description or "")


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    if storage_unavailable(exc):
        return error_page(503, "unavailable", "Storage is unavailable; retry later.")
    log.exception("unexpected error in the dashboard")
    return error_page(500, "internal", "Internal error; it was logged.")
