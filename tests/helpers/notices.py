"""Notices from anyone in tests: a valid notice, a service and app whose ``[notices]`` (and
``[mail]``) are chosen by the test."""

from __future__ import annotations

from typing import Any

from hoster_compliance.config_notices import NoticesConfig
from hoster_compliance.service import ComplianceService
from hoster_compliance_receiver import create_app
from tests.helpers import FakeClock, make_config

CSAM = {"category": "STATEMENT_CATEGORY_PROTECTION_OF_MINORS",
        "subcategory": "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"}
URLS = ["https://files.example-hosting.nl/u/7/a.jpg", "https://files.example-hosting.nl/u/7/b.jpg"]
NOTIFIER = {"name": "Anna de Vries", "email": "anna.devries@example.org"}


def notice(**overrides: Any) -> dict[str, Any]:
    """A valid anonymous notice of child sexual abuse material at two URLs."""
    doc: dict[str, Any] = {"urls": list(URLS), "explanation": "These images show the sexual "
                           "abuse of a child.", "good_faith": True, **CSAM}
    doc.update(overrides)
    return {k: v for k, v in doc.items() if v is not None}


def notices_service(db_url: str, clock: FakeClock, **settings: Any) -> ComplianceService:
    """A service on ``db_url`` with ``[notices]`` from ``settings`` (``mail=`` goes to
    ``[mail]``)."""
    mail = settings.pop("mail", None)
    config = make_config(db_url, notices=NoticesConfig(**settings), mail=mail)
    return ComplianceService(config, clock=clock)


def notices_app(service: ComplianceService) -> Any:
    app = create_app(service.config, service=service)
    app.testing = True
    return app
