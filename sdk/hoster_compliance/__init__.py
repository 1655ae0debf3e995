"""hoster-compliance: receive, act on and report removal orders and notices.

The public API is what this module re-exports; everything else is private and may change."""

from .automation import AutomationContext, AutomationRunner, Handler
from .config import Config, IssuerConfig, load_config
from .config_alerts import AlertChannel
from .config_mail import MailConfig
from .delivery.mail import MailSender, compose
from .delivery.outbox import DeliveryWorker, wire_by_default
from .detection import HashChecker, HashCheckError, HashListError, Match, build_checker
from .errors import ComplianceError, ConfigError, StorageUnavailable
from .issuer import CallbackServer, IssuerSender, verify_callback
from .protocol.signing import is_valid, new_secret, sign, verify
from .sending import wiring as _outbox_wiring
from .service import ComplianceService, HttpResult, error_result
from .workers import InProcessWorker

__version__ = "0.1.0"

# Every DeliveryWorker sends with the senders composed above the outbox (sending.py).
wire_by_default(_outbox_wiring)

__all__ = [
    "AlertChannel",
    "AutomationContext",
    "AutomationRunner",
    "CallbackServer",
    "ComplianceError",
    "ComplianceService",
    "Config",
    "ConfigError",
    "DeliveryWorker",
    "Handler",
    "HashCheckError",
    "HashChecker",
    "HashListError",
    "HttpResult",
    "InProcessWorker",
    "IssuerConfig",
    "IssuerSender",
    "MailConfig",
    "MailSender",
    "Match",
    "StorageUnavailable",
    "build_checker",
    "compose",
    "error_result",
    "is_valid",
    "load_config",
    "new_secret",
    "sign",
    "verify",
    "verify_callback",
]
