"""The baseline of the ingest benchmark: the least a durable webhook receiver can do.

One Flask route that reads the body and INSERTs it in one committed transaction, nothing else
(no signature, no validation, no outbox, no audit trail), served exactly as
``hoster-compliance serve`` serves the receiver (``serve.run_wsgi``: gunicorn's processes, the
bounded waitress front, its access log line per request, the same logging set-up) on the same
database with the same connection settings (``store.engine.make_engine``: SQLite WAL,
synchronous=FULL, BEGIN IMMEDIATE; PostgreSQL with pre-ping). Whatever ``serve`` costs beyond
this is the price of the protocol.

    python bench/minimal_app.py --database-url URL --port 8091 [--processes 2 --threads 8]
"""

from __future__ import annotations

import argparse
import logging
import time

import sqlalchemy as sa
from flask import Flask, Response, jsonify, request

from hoster_compliance.cli import LOG_FORMAT
from hoster_compliance.store.engine import make_engine
from hoster_compliance_receiver.serve import run_wsgi

metadata = sa.MetaData()
bench_orders = sa.Table(
    "bench_orders",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("issuer_id", sa.String(128), nullable=False),
    sa.Column("received_at", sa.BigInteger, nullable=False),
    sa.Column("body", sa.Text, nullable=False),
)


def create_app(database_url: str) -> Flask:
    """The app of one worker process; its engine is opened after the fork."""
    engine = make_engine(database_url)
    app = Flask(__name__)

    @app.post("/v1/webhooks/<issuer_id>")
    def receive(issuer_id: str) -> tuple[Response, int]:
        body = request.get_data().decode("utf-8")
        with engine.begin() as conn:
            conn.execute(bench_orders.insert().values(
                issuer_id=issuer_id, received_at=time.time_ns() // 1000, body=body))
        return jsonify({"status": "stored"}), 201

    @app.get("/healthz")
    def healthz() -> Response:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return jsonify({"status": "ok"})

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8091)
    parser.add_argument("--processes", type=int, default=1)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format=LOG_FORMAT)  # as `serve` does
    engine = make_engine(args.database_url)
    metadata.create_all(engine)  # once, before forking
    engine.dispose()
    run_wsgi(lambda: create_app(args.database_url), host=args.host, port=args.port,
             processes=args.processes, threads=args.threads)


if __name__ == "__main__":
    main()
