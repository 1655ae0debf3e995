"""Running the receiver in production: gunicorn's arbiter keeps the worker processes, and each
worker serves through the bounded waitress front of :mod:`.front` (slow clients cannot pin its
request threads; PROTOCOL 13.1). The Flask app, its database connections and its delivery
worker are created in each worker process after the fork.

A worker process never touches the database while it boots: ``serve`` created or migrated the
schema once before forking, and gunicorn halts the whole server when a worker fails to boot,
so a worker respawned during a database outage must come up and answer 503 until the database
is back, not take the server down."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import click
import sqlalchemy as sa

from hoster_compliance.cli import LOG_FORMAT, config_option, fail, load_checked
from hoster_compliance.config import Config
from hoster_compliance.protocol.limits import OPERATOR_MAX_BODY_BYTES
from hoster_compliance.store.engine import init_schema, make_engine

#: The largest request body the front reads when the caller names none (PROTOCOL 2.3's default).
DEFAULT_MAX_BODY = 1024 * 1024


def gunicorn_settings(host: str, port: int, processes: int, threads: int,
                      max_body_bytes: int = DEFAULT_MAX_BODY) -> dict[str, Any]:
    """The gunicorn configuration ``serve`` uses (the benchmarks serve their baseline app with
    exactly these settings). gunicorn manages the processes; :class:`.front.WaitressWorker`
    serves HTTP in each (``threads`` request threads behind one event loop); requests are
    logged by the front, through the project's logging."""
    from .front import WaitressWorker

    return {
        "bind": f"{host}:{port}",
        "workers": processes,
        "worker_class": WaitressWorker.limited_to(max_body_bytes),
        "threads": threads,
        "timeout": 60,  # a worker whose event loop stops for this long is replaced
        "graceful_timeout": 10,
        "errorlog": "-",
        "loglevel": "info",
        "preload_app": False,  # one app, engine and worker per process, after fork
        # gunicorn >= 24's control socket has one default path per user: several receivers on
        # one machine would take it from each other. Not needed; off.
        "control_socket_disable": True,
    }


def run_wsgi(
    factory: Callable[[], Any], *, host: str, port: int, processes: int = 1, threads: int = 8,
    max_body_bytes: int = DEFAULT_MAX_BODY, **overrides: Any,
) -> None:
    """Serve the WSGI app that ``factory()`` builds in each worker process, until SIGTERM/SIGINT.
    ``overrides`` replace single gunicorn settings."""
    try:
        from gunicorn.app.base import BaseApplication
    except ImportError as exc:  # the receiver extra is not installed
        raise SystemExit(
            "hoster-compliance: serve needs the receiver extra: "
            "pip install 'hoster-compliance[receiver]'"
        ) from exc

    settings = {**gunicorn_settings(host, port, processes, threads, max_body_bytes),
                **overrides}

    class _Server(BaseApplication):  # type: ignore[misc]
        def load_config(self) -> None:
            for key, value in settings.items():
                if key in self.cfg.settings:  # older gunicorn lacks some settings
                    self.cfg.set(key, value)

        def load(self) -> Any:
            return factory()

    _Server().run()


#: Connections a process needs beside its request threads: the delivery worker's two threads,
#: the automation runner and the group-commit thread (``store/group_commit.py``).
BACKGROUND_CONNECTIONS = 4


def build_app(config: Config, *, with_worker: bool, threads: int = 8) -> Any:
    """The receiver app of one worker process, with its delivery worker when asked; the schema
    is not created here (``serve`` did it before forking), so booting needs no database. The
    connection pool holds a connection for every thread, so a request never waits for one."""
    try:
        from hoster_compliance.workers import InProcessWorker
        from hoster_compliance_receiver import create_app
    except ImportError as exc:
        raise SystemExit(
            "hoster-compliance: serve needs the receiver extra: "
            "pip install 'hoster-compliance[receiver]'"
        ) from exc
    from hoster_compliance.service import ComplianceService
    from hoster_compliance.store.engine import make_engine

    engine = make_engine(config.database_url, pool_size=threads + BACKGROUND_CONNECTIONS,
                         max_overflow=BACKGROUND_CONNECTIONS)
    worker = InProcessWorker() if with_worker else None
    service = ComplianceService(
        config, engine, notify=worker.wake if worker is not None else None, create_schema=False
    )
    if worker is not None:
        worker.start(service)
    app = create_app(config, service=service)
    app.extensions["hoster_compliance_worker"] = worker
    return app


def run_server(
    config: Config, *, host: str, port: int, processes: int = 1, threads: int = 8,
    with_worker: bool = True,
) -> None:
    """Serve until stopped (SIGTERM/SIGINT)."""
    run_wsgi(lambda: build_app(config, with_worker=with_worker, threads=threads), host=host,
             port=port, processes=processes, threads=threads,
             max_body_bytes=max(config.max_body_bytes, OPERATOR_MAX_BODY_BYTES),
             worker_exit=_stop_delivery)


def _stop_delivery(_server: Any, worker: Any) -> None:
    """gunicorn's ``worker_exit`` hook: let the delivery worker finish the callback it is
    sending and record the answer, so a graceful stop leaves no claim to wait out."""
    app = getattr(worker, "wsgi", None)
    delivery = getattr(app, "extensions", {}).get("hoster_compliance_worker")
    if delivery is not None:
        delivery.stop()


@click.command("serve")
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=click.IntRange(0, 65535))
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64),
              help="WSGI worker processes (gunicorn).")
@click.option("--threads", default=8, show_default=True, type=click.IntRange(1, 256),
              help="Request threads per process.")
@click.option("--no-worker", is_flag=True,
              help="Run receivers only; callbacks are sent by `hoster-compliance worker`.")
def serve_command(config_path: str, host: str, port: int, processes: int, threads: int,
          no_worker: bool) -> None:
    """Run the receiver with its delivery worker."""
    config = load_checked(config_path)
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)
    engine = make_engine(config.database_url)
    try:
        init_schema(engine)  # once, before any process forks
    except sa.exc.SQLAlchemyError as exc:
        fail(f"database_url: cannot open the database ({type(exc).__name__})")
    finally:
        engine.dispose()
    run_server(config, host=host, port=port, processes=processes, threads=threads,
               with_worker=not no_worker)
