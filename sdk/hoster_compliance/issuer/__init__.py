"""The issuer's side of the protocol: send signed orders to a hoster, verify its callbacks, and a
small loopback callback endpoint. Used by the simulator, the tests and authorities adopting v1."""

from .common import PlanEntry, new_message_id
from .sender import IssuerSender
from .server import CallbackServer, ReceivedCallback
from .verifier import verify_callback

__all__ = [
    "CallbackServer",
    "IssuerSender",
    "PlanEntry",
    "ReceivedCallback",
    "new_message_id",
    "verify_callback",
]
