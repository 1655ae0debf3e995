"""The two messages to a notifier (PROTOCOL 10.2): what they say, queued as outbox rows in the
transaction of their cause (a notice stored, a notice decided), and the outbox's sender that
mails them. Below ``orders/`` and ``notices/``, which both queue them."""
