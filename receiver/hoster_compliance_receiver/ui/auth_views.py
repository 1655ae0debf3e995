"""Logging in with an operator token, and out (PROTOCOL 12)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, session, url_for

from hoster_compliance.auth import operator_actor

from .blueprint import bp, log, page, service
from .present import safe_next
from .session import log_in


@bp.get("/")
def index() -> Any:
    return redirect(url_for("ui.orders"))


@bp.get("/login")
def login() -> Any:
    if g.actor is not None:
        return redirect(safe_next(request.args.get("next")) or url_for("ui.orders"))
    return page("ui/login.html", next=safe_next(request.args.get("next")))


@bp.post("/login")
def login_post() -> Any:
    svc = service()
    token = request.form.get("token", "").strip()
    target = safe_next(request.form.get("next"))
    actor = operator_actor(svc.config.operator_tokens, token)
    if actor is None:
        log.info("dashboard login refused from %s", request.remote_addr)
        return page("ui/login.html", 401, next=target,
                    error="That is not an operator token of this receiver.")
    log_in(actor, svc.clock().timestamp())
    log.info("dashboard login: %s", actor)
    return redirect(target or url_for("ui.orders"), 303)


@bp.get("/logout")
def logout() -> Any:
    """A page with the logout button: leaving is a POST, like every change."""
    return page("ui/logout.html")


@bp.post("/logout")
def logout_post() -> Any:
    log.info("dashboard logout: %s", g.actor)
    session.clear()
    flash("You are logged out.", "ok")
    return redirect(url_for("ui.login"), 303)
