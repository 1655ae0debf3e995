"""The Flask application factory: ``create_app(config)``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException
from werkzeug.routing import PathConverter

from hoster_compliance.automation import Handler
from hoster_compliance.config import Config
from hoster_compliance.errors import ComplianceError, StorageUnavailable
from hoster_compliance.service import ComplianceService, error_result
from hoster_compliance.store.engine import storage_unavailable
from hoster_compliance.timeutil import Clock, utcnow
from hoster_compliance.workers import InProcessWorker

from . import metrics, openapi, operator, public, ui, webhooks
from .responses import json_response

log = logging.getLogger("hoster_compliance.receiver")


class ItemIdConverter(PathConverter):
    """Any item id (PROTOCOL 2.1 allows any 1-128 characters): "/", a leading "/", "//",
    newlines. Werkzeug's ``path`` stops at a newline and must not start with "/"."""

    regex = r"(?s:.+?)"
    part_isolating = False  # the regex holds no "/", so Werkzeug would assume True


def create_app(
    config: Config,
    *,
    service: ComplianceService | None = None,
    clock: Clock = utcnow,
    start_worker: bool = False,
    automations: Sequence[Handler] = (),
) -> Flask:
    """Build the receiver. ``start_worker`` runs the delivery worker (and the ``automations``
    handlers, see :mod:`hoster_compliance.automation`) in this process, as
    ``hoster-compliance serve`` does; tests usually drive the workers themselves."""
    app = Flask(__name__)
    app.url_map.converters["item_id"] = ItemIdConverter
    app.json.sort_keys = False  # type: ignore[attr-defined]
    worker: InProcessWorker | None = None
    if service is None:
        worker = InProcessWorker(automations=automations) if start_worker else None
        service = ComplianceService(
            config, clock=clock, notify=worker.wake if worker is not None else None
        )
        if worker is not None:
            worker.start(service)
    app.extensions["hoster_compliance"] = service
    app.extensions["hoster_compliance_worker"] = worker

    app.register_blueprint(webhooks.bp)
    app.register_blueprint(operator.bp)
    app.register_blueprint(openapi.bp)
    ui.init_app(app, service)
    app.register_blueprint(public.bp)
    app.register_blueprint(metrics.bp)

    @app.errorhandler(ComplianceError)
    def _compliance_error(exc: ComplianceError) -> Response:
        result = error_result(exc)
        return json_response(result.status, result.body, result.headers)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.code or 500, "bad_request")
        if request.path.startswith(ui.PREFIX + "/"):  # no dashboard route matched: a page
            return ui.error_page(exc.code or 400, code, exc.description or "")
        return json_response(exc.code or 400, {"error": code, "message": exc.description or ""})

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        if storage_unavailable(exc):
            return _compliance_error(StorageUnavailable("Storage is unavailable; retry later."))
        log.exception("unexpected error")  # the traceback goes to the log, never to the caller
        return json_response(500, {"error": "internal", "message": "Internal error; logged."})

    # The public notice form is open to anyone and protected by its honeypot and the rate
    # limit, not by a session: a CSRF check (the dashboard's) must not refuse it.
    csrf = app.extensions.get("csrf")
    if csrf is not None:
        csrf.exempt(public.bp)
    return app
