"""The dashboard (PROTOCOL 12): server-rendered pages under ``/ui/`` for the people at the
hoster. Thin views over ``ComplianceService``; a session cookie after logging in with an
operator token; CSRF tokens on every form; ``Content-Security-Policy: default-src 'self'``;
nothing loaded from another origin; every page works without JavaScript."""

from __future__ import annotations

from flask import Flask

from hoster_compliance.service import ComplianceService

from . import admin_views, auth_views, order_views  # noqa: F401 (they register the routes)
from .blueprint import bp, csrf, error_page
from .session import PREFIX, configure

__all__ = ["PREFIX", "error_page", "init_app"]


def init_app(app: Flask, service: ComplianceService) -> None:
    """Add the dashboard to the receiver ``app``."""
    app.extensions["hoster_compliance_ui_key"] = configure(app, service)
    csrf.init_app(app)
    app.register_blueprint(bp)
