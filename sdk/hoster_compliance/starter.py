"""The configuration ``hoster-compliance init`` writes (PROTOCOL 7.1): complete, a comment naming
each key, a fresh operator token and issuer secret, SQLite next to the file, and one example
issuer whose callbacks go where ``examples/issuer_simulator.py`` listens, so that a demo order
works at once."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from .protocol.signing import new_secret

FILE_NAME = "hoster.toml"
DATABASE_PATH = "compliance.db"
#: Where examples/issuer_simulator.py, playing the example issuer, receives callbacks.
SIMULATOR_API_BASE = "http://127.0.0.1:9100"


def new_operator_token() -> str:
    """A fresh operator token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def write_starter_config(directory: Path) -> Path:
    """Write ``directory/hoster.toml`` (the folder is created when missing) with a fresh token and
    secret, readable by its owner only; ``FileExistsError`` when the file exists (never
    overwritten)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / FILE_NAME
    text = starter_config_text(DATABASE_PATH, new_secret(), SIMULATOR_API_BASE)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    return path


def starter_config_text(
    database_path: str, issuer_secret: str, api_base: str, *, operator_token: str | None = None
) -> str:
    """A complete, commented configuration that ``load_config`` accepts; a fresh operator token
    unless one is given."""
    token = operator_token if operator_token is not None else new_operator_token()
    q = toml_string
    return f"""\
# hoster-compliance configuration (docs/PROTOCOL.md, section 7.1), written by
# `hoster-compliance init`. It holds secrets: keep it private.
# Unknown keys are errors, so that a typo never silently drops a setting.

# Names this hoster in the callbacks it sends to issuers.
hoster_id = "example-hosting"
# The "Service" column of the Commission's transparency templates (default: hoster_id).
service_name = "Example Hosting"
# "Name of the service provider" in Part 1 of the templates (default: service_name).
provider_name = "Example Hosting B.V."
# sqlite:///FILE (a relative FILE is relative to this file's folder) or
# postgresql://user@host/dbname.
database_url = {q("sqlite:///" + database_path)}
# Bearer tokens for the operator API. To keep them out of this file, write instead
# operator_tokens_env = "HC_OPERATOR_TOKENS" (a comma-separated list in that variable).
operator_tokens = [{q(token)}]
# Largest webhook body accepted, in bytes (1 MiB).
max_body_bytes = 1048576
# How far a webhook-timestamp may be from this server's clock, in seconds.
timestamp_tolerance_seconds = 300
# Timeout of every callback request to an issuer, in seconds.
callback_timeout_seconds = 15
# The dashboard is at /ui/ on the receiver; log in with an operator token. Optional:
# dashboard_url = "https://compliance.example.nl"  # how people reach it (https: Secure cookie)
# dashboard_secret_env = "HC_DASHBOARD_SECRET"     # its session key (else kept in the database)

# One [[issuers]] table per authority or hotline that sends orders or notices. This one is an
# example, played by examples/issuer_simulator.py: replace it with your real issuers.
[[issuers]]
# Its webhook URL is POST /v1/webhooks/nl-atkm
id = "nl-atkm"
# A name for people to read.
name = "ATKM (example)"
# Eurostat code of the issuer's Member State (Greece is EL).
member_state = "NL"
# Standard Webhooks secrets, given to the issuer: all are accepted, the last one signs callbacks.
# To rotate, append the new one and remove the old one later. Each issuer has its own.
# Or: secrets_env = "HC_NL_ATKM_SECRETS" (a comma-separated list in that variable).
secrets = [{q(issuer_secret)}]
# Where the issuer receives callbacks (acknowledgements and outcomes).
api_base = {q(api_base)}
# The regime of orders that name none; it sets their default deadline (NL_ATKM: 12 hours).
default_regime = "NL_ATKM"
"""


_TOML_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f",
                 "\r": "\\r"}


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string."""
    out = []
    for c in text:
        if c in _TOML_ESCAPES:
            out.append(_TOML_ESCAPES[c])
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04X}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'
