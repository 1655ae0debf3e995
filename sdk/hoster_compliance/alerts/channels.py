"""The channels: small senders that make one attempt at one alert and say what happened, in the
terms of the outbox's retry policy. The outbox claims, leases, retries and records (delivery/
outbox.py) and hands each claimed alert to ``sender.py``, which calls these; nothing here
touches the database.

- ``email``: one text/plain message through ``[mail]`` (delivery/mail.py);
- ``webhook``: a Slack- and Mattermost-compatible JSON POST; any 2xx is delivered;
- ``pagerduty``: an Events API v2 ``trigger`` or ``resolve``; 202 is delivered.

A webhook URL and a routing key are secrets: they are read from the configuration at send time
(never stored with the alert) and blanked out of every error text."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from ..config import Config
from ..config_alerts import AlertChannel
from ..config_mail import parse_address
from ..delivery import retry_policy
from ..delivery.client import AttemptResult, CallbackClient
from ..delivery.mail import MailSender, compose
from ..timeutil import parse_time
from . import content

USER_AGENT = "hoster-compliance-alerts/1"


@dataclass(frozen=True)
class Sent:
    """One attempt's answer and what it means (``retry_policy.DELIVERED``/``RETRY``/``FAILED``)."""

    result: AttemptResult
    outcome: str

    @property
    def delivered(self) -> bool:
        return self.outcome == retry_policy.DELIVERED


class AlertSender:
    """Sends alerts through the configured channels. One per worker thread (its HTTP session
    keeps connections alive)."""

    def __init__(
        self,
        config: Config,
        *,
        http: CallbackClient | None = None,
        mail: MailSender | None = None,
    ) -> None:
        self.config = config
        self.timeout = config.callback_timeout_seconds
        self.http = http or CallbackClient()
        self.mail = mail
        if self.mail is None and config.mail is not None:
            # The whole attempt within the timeout: the outbox's lease is sized by it.
            self.mail = MailSender(config.mail, timeout=self.timeout, deadline=self.timeout)

    def send(self, channel: AlertChannel, facts: dict[str, Any], *, message_id: str) -> Sent:
        """One attempt at the alert of ``facts`` through ``channel``; never raises."""
        try:
            if channel.channel == "email":
                return self._email(channel, facts, message_id)
            if channel.channel == "webhook":
                body = content.webhook_payload(self.config.hoster_id, self.config.dashboard_url,
                                               facts)
            else:
                assert channel.routing_key is not None
                body = content.pagerduty_payload(self.config.hoster_id,
                                                 self.config.dashboard_url, facts,
                                                 channel.routing_key)
            return self._post(channel, body)
        except Exception as exc:  # a bug must become a recorded failure, not a dead worker
            return _failed(f"cannot send: {type(exc).__name__}")

    def _post(self, channel: AlertChannel, body: dict[str, Any]) -> Sent:
        assert channel.url is not None
        data = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
        result = self.http.post(channel.url, data, timeout=self.timeout, headers={
            "Content-Type": "application/json", "User-Agent": USER_AGENT})
        if result.error is not None:
            result = AttemptResult(result.status, _redact(result.error, channel),
                                   result.retry_after, result.elapsed_ms, result.timed_out)
        return Sent(result, retry_policy.classify(result.status))

    def _email(self, channel: AlertChannel, facts: dict[str, Any], message_id: str) -> Sent:
        if self.mail is None or self.config.mail is None:
            return _failed("no [mail] configured")
        domain = parse_address(self.config.mail.sender).domain
        message = compose(
            self.config.mail, channel.to, content.subject(self.config.hoster_id, facts),
            content.email_body(self.config.hoster_id, self.config.dashboard_url, facts),
            message_id=f"{message_id}@{domain}", date=_at(facts),
        )
        sent = self.mail.send(message)
        timed_out = sent.error is not None and sent.error.startswith("timeout")
        return Sent(AttemptResult(sent.code, sent.error, None, sent.elapsed_ms, timed_out),
                    sent.outcome)

    def close(self) -> None:
        self.http.close()


def _at(facts: dict[str, Any]) -> datetime | None:
    try:
        return parse_time(facts["at"])
    except (KeyError, ValueError):
        return None


def _failed(error: str) -> Sent:
    return Sent(AttemptResult(None, error, None, 0.0), retry_policy.FAILED)


def _redact(text: str, channel: AlertChannel) -> str:
    """``text`` without the channel's URL (or its path, which holds an incoming webhook's
    token) or routing key."""
    secrets = [channel.url or "", channel.routing_key or ""]
    if channel.url:
        parts = urlsplit(channel.url)
        secrets.append(parts.path + ("?" + parts.query if parts.query else ""))
        secrets.append(parts.path)
    for secret in sorted((s for s in secrets if s and s != "/"), key=len, reverse=True):
        text = text.replace(secret, "[secret]")
    return text[:500]
