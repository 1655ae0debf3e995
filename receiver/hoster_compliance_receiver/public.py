"""Notices from anyone (PROTOCOL 10.2): the HTML form and the JSON API, no token. Thin views:
the SDK validates, rate-limits and stores (``ComplianceService.submit_notice``)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, render_template, request

from hoster_compliance.errors import ComplianceError, InvalidPayload
from hoster_compliance.notices import form as notice_form
from hoster_compliance.service import NOTICE_MAX_BYTES, ComplianceService, error_result

from .responses import json_response

bp = Blueprint("public", __name__)

#: Public pages load nothing from anywhere and cannot be framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


def _service() -> ComplianceService:
    return current_app.extensions["hoster_compliance"]  # type: ignore[no-any-return]


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _page(template: str, status: int, headers: dict[str, str] | None = None,
          **context: Any) -> Response:
    body = render_template(template, service_name=_service().config.service_name, **context)
    response = Response(body, status=status, mimetype="text/html")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _form(status: int, form: dict[str, str] | None = None,
          errors: dict[str, list[str]] | None = None, message: str | None = None,
          headers: dict[str, str] | None = None) -> Response:
    return _page("notices/form.html", status, headers, form=form or {}, errors=errors or {},
                 message=message, choices=notice_form.choices(),
                 honeypot=notice_form.HONEYPOT)


def _message(status: int, title: str, message: str,
             headers: dict[str, str] | None = None) -> Response:
    return _page("notices/message.html", status, headers, title=title, message=message)


@bp.get("/notices/new")
def new_form() -> Response:
    if not _service().config.notices.enabled:
        return _message(404, "Not found", "This hoster does not take reports here.")
    return _form(200)


@bp.post("/notices")
def submit_form() -> Response:
    service = _service()
    if not service.config.notices.enabled:
        return _message(404, "Not found", "This hoster does not take reports here.")
    if (request.content_length or 0) > NOTICE_MAX_BYTES:
        return _message(413, "Report too long", "The report is larger than 64 KiB; please "
                                                "shorten the explanation or the list.")
    request.max_form_memory_size = NOTICE_MAX_BYTES
    form = {key: request.form.get(key, "") for key in notice_form.FIELDS}
    if request.form.get(notice_form.HONEYPOT):
        return _form(400, form, message="Please leave the field \"Leave this field empty\" "
                                        "empty; nothing was sent.")
    doc = notice_form.to_notice(form)
    client = service.notice_client(request.remote_addr, request.headers.get("X-Forwarded-For"))
    try:
        status, body = service.submit_notice(doc, client)
    except InvalidPayload as exc:
        return _form(400, form, errors=notice_form.field_errors(exc.fields))
    except ComplianceError as exc:
        result = error_result(exc)
        if exc.status == 429:
            return _form(429, form, message="You sent many reports in a short time. Please "
                         f"try again in {result.headers['Retry-After']} seconds; nothing was "
                         "sent.", headers=result.headers)
        if exc.status >= 500:
            return _message(exc.status, "Please try again later",
                            "We could not store your report just now; nothing was sent. "
                            "Please try again in a few minutes.", result.headers)
        raise
    email = bool(form["email"])
    return _page("notices/received.html", 200, notice_id=body["notice_id"],
                 deadline=body["deadline"], email=email, duplicate=status == 200)


@bp.post("/v1/notices")
def submit_json() -> Response:
    service = _service()
    # Never read more than one byte past the limit: the service answers 413 for that.
    body = request.stream.read(NOTICE_MAX_BYTES + 1)
    result = service.receive_notice(dict(request.headers), body,
                                    remote_addr=request.remote_addr)
    return json_response(result.status, result.body, result.headers)
