"""Flask receiver for hoster-compliance: ``create_app(config)`` gives the WSGI app."""

from .app import create_app

__all__ = ["create_app"]
