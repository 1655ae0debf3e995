"""hoster-compliance: receive, act on and report removal orders and notices."""

__version__ = "0.1.0"
