"""Running the receiver under gunicorn (a production WSGI server). The Flask app, its database
connections and its delivery worker are created in each worker process after the fork."""

from __future__ import annotations

from typing import Any

from .config import Config


def run_server(
    config: Config, *, host: str, port: int, processes: int = 1, threads: int = 8,
    with_worker: bool = True,
) -> None:
    """Serve until stopped (SIGTERM/SIGINT)."""
    try:
        from gunicorn.app.base import BaseApplication

        from hoster_compliance_receiver import create_app
    except ImportError as exc:  # the receiver extra is not installed
        raise SystemExit(
            "hoster-compliance: serve needs the receiver extra: "
            "pip install 'hoster-compliance[receiver]'"
        ) from exc

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            settings = {
                "bind": f"{host}:{port}",
                "workers": processes,
                "worker_class": "gthread",
                "threads": threads,
                "timeout": 60,
                "graceful_timeout": 10,
                "accesslog": "-",
                "errorlog": "-",
                "loglevel": "info",
                "preload_app": False,  # one app, engine and worker per process, after fork
            }
            for key, value in settings.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(config, start_worker=with_worker)

    _Server().run()
