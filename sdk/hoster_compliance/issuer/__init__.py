"""The issuer's side of the protocol: send signed orders to a hoster, verify its callbacks, and a
small loopback callback endpoint. Used by the simulator, the tests and authorities adopting the
protocol, with HMAC (``v1``) or Ed25519 (``v1a``) signatures."""

from .common import PlanEntry, new_message_id
from .sender import IssuerSender
from .server import CallbackServer, ReceivedCallback
from .verifier import KEYS_PATH, fetch_public_keys, parse_key_list, verify_callback

__all__ = [
    "KEYS_PATH",
    "CallbackServer",
    "IssuerSender",
    "PlanEntry",
    "ReceivedCallback",
    "fetch_public_keys",
    "new_message_id",
    "parse_key_list",
    "verify_callback",
]
