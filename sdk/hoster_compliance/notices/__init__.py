"""Notices from anyone (DSA Art. 16) and statements of reasons (Art. 17): PROTOCOL 10. The
notifier's two messages live in ``notifier/``, below ``orders/``, whose actions queue the
decision."""
