"""Alerts to the hoster's people (PROTOCOL 9): raised in the transaction of their cause (or by
the delivery worker's schedule, for the time-based ones), stored as outbox rows, sent by small
channel senders (e-mail, Slack/Mattermost webhook, PagerDuty Events API v2), which the outbox
uses through ``sender.py`` (composed with the others in ``hoster_compliance/sending.py``)."""
