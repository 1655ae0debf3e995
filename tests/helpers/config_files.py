"""Configuration files written from tables and loaded as ``load_config`` reads them, for the
configuration tests: ``load_text(tmp_path, config_text(top_settings(), [issuer_settings()]))``."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from hoster_compliance.config import Config, load_config
from hoster_compliance.errors import ConfigError

from . import ISSUER_SECRET

CONFIG_TOKEN = "operator-token-1"


def toml_value(value: Any) -> str:
    """``value`` as TOML: booleans, strings, lists, and numbers (inf, nan are TOML too)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return str(value)


def config_text(top: dict[str, Any], issuers: list[dict[str, Any]]) -> str:
    """A configuration file: the ``top`` keys, then one ``[[issuers]]`` table each."""
    lines = [f"{k} = {toml_value(v)}" for k, v in top.items()]
    for issuer in issuers:
        lines.append("[[issuers]]")
        lines += [f"{k} = {toml_value(v)}" for k, v in issuer.items()]
    return "\n".join(lines) + "\n"


def top_settings() -> dict[str, Any]:
    """The top-level keys every valid file needs."""
    return {"hoster_id": "h1", "database_url": "sqlite:///c.db",
            "operator_tokens": [CONFIG_TOKEN]}


def secret_for(issuer_id: str) -> str:
    """A secret of this issuer's own (PROTOCOL 13.3: no two issuers share one)."""
    return "whsec_" + base64.b64encode(hashlib.sha256(issuer_id.encode()).digest()).decode()


def issuer_settings(**changes: Any) -> dict[str, Any]:
    """A valid ``[[issuers]]`` table (``nl-atkm`` with the Standard Webhooks test secret; any
    other id with its own secret), with ``changes``."""
    issuer_id = changes.get("id", "nl-atkm")
    issuer = {"id": issuer_id, "member_state": "NL",
              "secrets": [ISSUER_SECRET if issuer_id == "nl-atkm" else secret_for(issuer_id)],
              "api_base": "https://issuer.example/api"}
    issuer.update(changes)
    return issuer


def load_text(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> Config:
    """``text`` written to a file and loaded, with ``environ`` (none) as the environment."""
    path = tmp_path / "hc.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, environ=environ if environ is not None else {})


def config_error(tmp_path: Path, text: str, environ: dict[str, str] | None = None) -> ConfigError:
    """The ``ConfigError`` that loading ``text`` raises (the test fails when none)."""
    with pytest.raises(ConfigError) as info:
        load_text(tmp_path, text, environ)
    return info.value
