"""The dashboard's login, session and CSRF protection (PROTOCOL 12), through Flask's test
client on a real database: cookies as a browser keeps them, forms posted as a browser posts them."""

from __future__ import annotations

import dataclasses
import time
from typing import Any

import pytest
import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from hoster_compliance.config import Config
from hoster_compliance.service import ComplianceService
from hoster_compliance.store.tables import events, items, local_keys
from hoster_compliance_receiver import create_app
from tests.helpers import TOKEN, FakeClock, make_config
from tests.helpers.ui import csrf_token, login, parse
from tests.helpers.webhooks import receive

DASHBOARD_SECRET = "0123456789abcdef0123456789abcdef-test"


def app_for(config: Config, clock: FakeClock) -> tuple[Any, ComplianceService]:
    service = ComplianceService(config, clock=clock)
    app = create_app(config, service=service)
    app.testing = True
    return app, service


def test_pages_need_a_login_that_leads_back_to_the_page(client: Any) -> None:
    response = client.get("/ui/orders?status=all")
    assert response.status_code == 302
    assert response.headers["Location"] == "/ui/login?next=/ui/orders?status%3Dall"
    form = client.get(response.headers["Location"])
    assert 'name="next" value="/ui/orders?status=all"' in form.text
    answer = client.post("/ui/login", data={"csrf_token": csrf_token(form.text), "token": TOKEN,
                                            "next": "/ui/orders?status=all"})
    assert answer.status_code == 303
    assert answer.headers["Location"] == "/ui/orders?status=all"
    assert client.get("/ui/orders").status_code == 200


@pytest.mark.parametrize("target", ["//evil.example/ui/", "https://evil.example/ui/",
                                    "/\\evil.example", "/v1/orders", "/ui/\r\nx"])
def test_login_never_leads_off_the_dashboard(client: Any, target: str) -> None:
    form = client.get("/ui/login")
    answer = client.post("/ui/login", data={"csrf_token": csrf_token(form.text), "token": TOKEN,
                                            "next": target})
    assert answer.headers["Location"] == "/ui/orders"


def test_a_wrong_token_is_refused_and_never_echoed(client: Any) -> None:
    form = client.get("/ui/login")
    answer = client.post("/ui/login", data={"csrf_token": csrf_token(form.text),
                                            "token": "guess-" + TOKEN})
    assert answer.status_code == 401
    assert "not an operator token" in answer.text
    assert TOKEN not in answer.text
    assert client.get("/ui/orders").status_code == 302


def test_the_session_cookie_is_httponly_lax_and_lasts_12_hours(client: Any) -> None:
    form = client.get("/ui/login")
    answer = client.post("/ui/login", data={"csrf_token": csrf_token(form.text), "token": TOKEN})
    cookie = answer.headers["Set-Cookie"]
    assert cookie.startswith("hc_session=")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # no https dashboard_url
    assert TOKEN not in cookie
    [expires] = [p.split("=", 1)[1] for p in cookie.split("; ") if p.startswith("Expires=")]
    from email.utils import parsedate_to_datetime
    left = parsedate_to_datetime(expires).timestamp() - time.time()
    assert 12 * 3600 - 120 < left <= 12 * 3600 + 1


def test_the_cookie_is_secure_when_the_dashboard_is_on_https(
    config: Config, clock: FakeClock
) -> None:
    app, service = app_for(dataclasses.replace(config, dashboard_url="https://c.example.nl"),
                           clock)
    client = app.test_client()
    form = client.get("/ui/login", base_url="https://c.example.nl")
    answer = client.post("/ui/login", data={"csrf_token": csrf_token(form.text), "token": TOKEN},
                         base_url="https://c.example.nl",
                         headers={"Referer": "https://c.example.nl/ui/login"})
    assert answer.status_code == 303
    assert "Secure" in answer.headers["Set-Cookie"]
    service.engine.dispose()


def test_a_session_ends_12_hours_after_login_whatever_was_done_since(
    client: Any, clock: FakeClock
) -> None:
    login(client)
    clock.advance(hours=11, minutes=59)
    assert client.get("/ui/orders").status_code == 200
    clock.advance(minutes=1)
    assert client.get("/ui/orders").status_code == 302


def test_removing_a_token_from_the_configuration_ends_its_sessions(
    client: Any, config: Config, clock: FakeClock
) -> None:
    login(client)
    cookie = client.get_cookie("hc_session")
    assert cookie is not None
    other = "another-operator-token-0001"
    app, service = app_for(dataclasses.replace(config, operator_tokens=(TOKEN, other)), clock)
    kept = app.test_client()
    kept.set_cookie("hc_session", cookie.value)
    assert kept.get("/ui/orders").status_code == 200  # same database, same key: accepted
    app, service2 = app_for(dataclasses.replace(config, operator_tokens=(other,)), clock)
    removed = app.test_client()
    removed.set_cookie("hc_session", cookie.value)
    assert removed.get("/ui/orders").status_code == 302
    service.engine.dispose()
    service2.engine.dispose()


def test_the_random_key_is_made_once_in_the_database_and_shared(
    client: Any, service: ComplianceService, config: Config, clock: FakeClock
) -> None:
    login(client)
    app, other = app_for(config, clock)  # another process on the same database
    second = app.test_client()
    cookie = client.get_cookie("hc_session")
    assert cookie is not None
    second.set_cookie("hc_session", cookie.value)
    assert second.get("/ui/orders").status_code == 200
    with service.engine.connect() as conn:
        keys = conn.execute(sa.select(local_keys)).all()
    assert [k.name for k in keys] == ["dashboard_session"] and len(keys[0].value) == 64
    assert other.dashboard_secret() == service.dashboard_secret() == keys[0].value
    other.engine.dispose()


def test_dashboard_secret_env_is_used_instead_of_a_stored_key(
    config: Config, clock: FakeClock
) -> None:
    app, service = app_for(dataclasses.replace(config, dashboard_secret=DASHBOARD_SECRET), clock)
    client = app.test_client()
    login(client)
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(local_keys)).all() == []
    cookie = client.get_cookie("hc_session")
    assert cookie is not None
    app2, service2 = app_for(dataclasses.replace(config, dashboard_secret="x" * 40), clock)
    other = app2.test_client()
    other.set_cookie("hc_session", cookie.value)
    assert other.get("/ui/orders").status_code == 302  # another key: not a session there
    service.engine.dispose()
    service2.engine.dispose()


def test_logout_is_a_post_that_ends_the_session(client: Any) -> None:
    token = login(client)
    page = client.get("/ui/logout")
    assert page.status_code == 200 and "Log out" in page.text
    assert client.get("/ui/orders").status_code == 200  # the GET changed nothing
    assert client.post("/ui/logout").status_code == 400  # no CSRF token
    assert client.get("/ui/orders").status_code == 200
    answer = client.post("/ui/logout", data={"csrf_token": token})
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/login"
    assert client.get("/ui/orders").status_code == 302


def test_posts_without_a_valid_csrf_token_are_refused_and_change_nothing(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for)
    token = login(client)
    act = "/ui/orders/nl-atkm/ord-1/action"
    for data in ({"action": "removed"}, {"action": "removed", "csrf_token": "forged"},
                 {"action": "removed", "csrf_token": token[:-2] + "xx"}):
        answer = client.post(act, data=data)
        assert answer.status_code == 400
        assert "csrf_failed" in answer.text
    assert client.post("/ui/deliveries/1/retry").status_code == 400
    fresh = client.application.test_client()
    assert fresh.post("/ui/login", data={"token": TOKEN}).status_code == 400
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(items.c.action)).scalars().all() == [None, None]
    assert client.post(act, data={"action": "removed", "csrf_token": token,
                                  "item": "aTE="}).status_code == 303


class _SignedHoursAgo(TimestampSigner):
    hours = 0.0

    def get_timestamp(self) -> int:
        return int(time.time() - self.hours * 3600)


@pytest.mark.parametrize(("hours", "accepted"), [(2, True), (11.9, True), (12.1, False)])
def test_a_form_left_open_for_hours_still_submits_within_the_session(
    client: Any, app: Any, hours: float, accepted: bool
) -> None:
    """Flask-WTF's default token lifetime is one hour; ours is the session's, 12 h."""
    login(client)
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    signer = type("Signer", (_SignedHoursAgo,), {"hours": hours})
    old = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token", signer=signer).dumps(raw)
    answer = client.post("/ui/logout", data={"csrf_token": old})
    assert (answer.status_code == 303) is accepted


def test_an_expired_session_never_records_a_posted_action(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for)
    token = login(client)
    clock.advance(hours=13)
    answer = client.post("/ui/orders/nl-atkm/ord-1/action",
                         data={"csrf_token": token, "action": "removed"})
    assert answer.status_code == 303 and answer.headers["Location"] == "/ui/login"
    assert "Nothing was recorded" in client.get("/ui/login").text
    with service.engine.connect() as conn:
        assert conn.execute(sa.select(items.c.action)).scalars().all() == [None, None]


def _state(service: ComplianceService) -> tuple[Any, ...]:
    with service.engine.connect() as conn:
        return (conn.execute(sa.select(events.c.id, events.c.hash)).all(),
                conn.execute(sa.select(items)).all())


def test_no_get_changes_anything(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for)
    login(client)
    before = _state(service)
    for url in ("/ui/", "/ui/orders", "/ui/orders?status=all", "/ui/orders/nl-atkm/ord-1",
                "/ui/orders/nl-atkm/ord-1/action", "/ui/deliveries", "/ui/deliveries/1/retry",
                "/ui/report", "/ui/report/dsa-csv.zip", "/ui/audit?verify=1", "/ui/logout",
                "/ui/login"):
        assert client.get(url).status_code in (200, 302, 405), url
    assert _state(service) == before
    assert client.get("/ui/orders").status_code == 200  # still logged in


def test_every_page_sends_the_content_security_policy_and_loads_only_its_own_files(
    client: Any, service: ComplianceService, clock: FakeClock, sender_for: Any
) -> None:
    receive(service, clock, sender_for)
    responses = [("/ui/login", client.get("/ui/login"))]
    login(client)
    for url in ("/ui/orders", "/ui/orders/nl-atkm/ord-1", "/ui/deliveries", "/ui/report",
                "/ui/audit?verify=1", "/ui/logout", "/ui/orders/nl-atkm/missing", "/ui/nothing"):
        responses.append((url, client.get(url)))
    for url, response in responses:
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.mimetype == "text/html"
        page = parse(response.text)
        for tag, attrs in page.elements:
            for name in ("src", "href", "action"):
                value = attrs.get(name)
                if value is not None:
                    assert value.startswith(("/", "#")) and not value.startswith("//"), \
                        (url, tag, value)
            assert "style" not in attrs, (url, tag)  # CSP forbids inline style anyway
        assert [s.get("src") for s in page.all("script")] == ["/ui/static/countdown.js"], url
        assert page.all("style") == [] and page.all("iframe") == [] and page.all("img") == []
        labelled = {attrs.get("for") for attrs in page.all("label")}
        for tag in ("input", "select", "textarea"):
            for field in page.all(tag):
                if field.get("type") != "hidden":
                    assert field.get("id") in labelled, (url, field)  # a label on every field
    for asset in ("/ui/static/dashboard.css", "/ui/static/countdown.js"):
        with client.get(asset) as response:
            assert response.status_code == 200
            assert "default-src 'self'" in response.headers["Content-Security-Policy"]
            assert b"http://" not in response.data and b"https://" not in response.data


def test_database_down_is_a_503_page_and_the_webhook_still_answers_json(clock: FakeClock) -> None:
    config = make_config("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2")
    service = ComplianceService(config, clock=clock, create_schema=False)
    app = create_app(config, service=service)
    client = app.test_client()
    answer = client.get("/ui/login")
    assert answer.status_code == 503
    assert answer.headers["Retry-After"] == "5"
    assert "unavailable" in answer.text and answer.mimetype == "text/html"
    assert "Traceback" not in answer.text
    assert client.get("/healthz").status_code == 503
