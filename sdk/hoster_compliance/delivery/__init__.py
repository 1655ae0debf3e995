"""Everything sent: the durable outbox, its HTTP client and the retry policy."""
