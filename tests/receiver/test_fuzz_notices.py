"""Fuzzing the public notice routes (PROTOCOL 10.2): random and near-valid JSON notices on
``POST /v1/notices``, random form fields on ``POST /notices``, odd headers (X-Forwarded-For,
Content-Type). Never a 5xx; the API answers JSON with a PROTOCOL code, the form a page.

CI runs a bounded share (``HC_FUZZ_EXAMPLES``, default 200 per test and database)::

    HC_FUZZ_EXAMPLES=20000 python -m pytest tests/receiver/test_fuzz_notices.py -q
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hoster_compliance.service import ComplianceService
from tests.helpers import FakeClock
from tests.helpers.fuzz import check_error_body, dumps, json_values, odd_text
from tests.helpers.notices import NOTIFIER, notice, notices_app, notices_service

EXAMPLES = int(os.environ.get("HC_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow, HealthCheck.data_too_large])
NOTICE_ANSWER = {"notice_id", "status", "received_at", "deadline"}


@pytest.fixture
def svc(db_url: str, clock: FakeClock) -> Iterator[ComplianceService]:
    service = notices_service(db_url, clock, max_per_hour_per_client=0, trusted_proxy_hops=1)
    yield service
    service.close()


@pytest.fixture
def web(svc: ComplianceService) -> Any:
    return notices_app(svc).test_client()


def check_api_answer(response: Any) -> None:
    assert response.status_code < 500, (response.status_code, response.get_data(as_text=True))
    assert response.mimetype == "application/json"
    body = response.get_json()
    if response.status_code >= 400:
        check_error_body(response.status_code, body)
    elif response.status_code == 201:
        assert set(body) == NOTICE_ANSWER and re.fullmatch(r"N-[0-9A-Z]{12}", body["notice_id"])
    else:
        assert response.status_code == 200 and body["duplicate"] is True


# A valid notice with one key replaced, dropped or added.
mutations = st.tuples(
    st.sampled_from(["urls", "explanation", "category", "subcategory", "subcategory_other",
                     "notifier", "good_faith", "extra"]),
    st.one_of(json_values, odd_text, st.lists(odd_text, max_size=120), st.just(None),
              st.fixed_dictionaries({}, optional={"name": odd_text | json_values,
                                                  "email": odd_text | json_values})),
)


@FUZZ
@given(mutation=mutations, drop=st.booleans(),
       forwarded=st.none() | odd_text.filter(lambda s: "\n" not in s and "\r" not in s))
@example(mutation=("urls", ["https://x.example/a"] * 2), drop=False, forwarded=None)
@example(mutation=("notifier", {"name": "A", "email": "a@\x00.example"}), drop=False,
         forwarded=None)
@example(mutation=("urls", ["x" * 300_000]), drop=False, forwarded=None)
@example(mutation=("urls", ["https://x.example/" + "\ud800"]), drop=False, forwarded="1.1.1.1")
def test_near_valid_notices_never_fail(
    web: Any, mutation: tuple[str, Any], drop: bool, forwarded: str | None
) -> None:
    key, value = mutation
    doc = notice(notifier=NOTIFIER)
    if drop:
        doc.pop(key, None)
    else:
        doc[key] = value
    headers = {"X-Forwarded-For": forwarded} if forwarded and forwarded.isascii() else {}
    response = web.post("/v1/notices", data=dumps(doc), content_type="application/json",
                        headers=headers)
    check_api_answer(response)


@FUZZ
@given(body=st.binary(max_size=300) | json_values.map(dumps),
       content_type=st.sampled_from(["application/json", "application/json; charset=latin-1",
                                     "text/plain", "", "application/json; charset=utf-8"]))
def test_any_body_never_fails(web: Any, body: bytes, content_type: str) -> None:
    response = web.post("/v1/notices", data=body, content_type=content_type or None)
    check_api_answer(response)


form_fields = st.dictionaries(
    st.sampled_from(["urls", "explanation", "kind", "subcategory_other", "name", "email",
                     "good_faith", "website"]) | odd_text,
    odd_text | st.sampled_from([
        "https://x.example/a\nhttps://x.example/b", "yes",
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS|KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL",
        "STATEMENT_CATEGORY_PROTECTION_OF_MINORS|KEYWORD_OTHER", "|", "A|B|C"]),
    max_size=8,
)


@FUZZ
@given(fields=form_fields)
@example(fields={"urls": "https://x.example/a", "explanation": "a long enough text",
                 "kind": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS|KEYWORD_CHILD_SEXUAL_ABUSE_"
                         "MATERIAL", "good_faith": "yes"})
def test_any_form_never_fails(web: Any, fields: dict[str, str]) -> None:
    clean = {k.encode("utf-8", "replace").decode(): v.encode("utf-8", "replace").decode()
             for k, v in fields.items()}
    response = web.post("/notices", data=clean)
    assert response.status_code in (200, 400, 413), response.status_code
    assert response.mimetype == "text/html"
    assert "Traceback" not in response.get_data(as_text=True)


def test_the_json_answers_are_parseable(web: Any) -> None:
    response = web.post("/v1/notices", data=json.dumps(notice()),
                        content_type="application/json")
    check_api_answer(response)
