"""Refuse known material at upload, before it is stored (PROTOCOL 11.1).

A small Flask upload route for a hoster's own upload code: the upload is read into memory (at
most ``MAX_UPLOAD`` bytes), checked against the ``[hashcheck]`` lists and service of the
configuration, and only written to ``--store`` when nothing knows it. A known file is refused
with 403 and never touches the disk; when the check cannot be done (the service is down), the
upload is refused with 503: the check fails closed.

    python examples/upload_check.py --config hoster.toml --store /srv/uploads --port 8081
    curl -F file=@photo.jpg http://127.0.0.1:8081/upload
"""

from __future__ import annotations

import argparse
import logging
import re
import secrets
from pathlib import Path
from typing import Any

from flask import Flask, jsonify, request

from hoster_compliance import load_config
from hoster_compliance.detection import HashChecker, HashCheckError, build_checker

MAX_UPLOAD = 64 * 1024 * 1024
log = logging.getLogger("upload_check")


def create_upload_app(checker: HashChecker, store: Path) -> Flask:
    """``POST /upload`` (multipart, field ``file``): 201 stored, 403 known, 503 not checked."""
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD

    @app.post("/upload")
    def upload() -> Any:
        sent = request.files.get("file")
        if sent is None:
            return jsonify(error="invalid_payload", message="Send the file as field 'file'."), 400
        data = sent.read()
        try:
            match = checker.check_bytes(data)
        except HashCheckError as exc:
            log.error("upload not checked: %s", exc)
            return jsonify(error="unavailable",
                           message="The upload cannot be checked now; try again later."), 503
        if match is not None:
            # Known material: refused before it is stored. (Report it as your policy and the
            # law require; the file's hash is in the log, the file itself nowhere.)
            log.warning("upload refused: known %s %s (%s)", match.algorithm, match.value,
                        match.source)
            return jsonify(error="refused", message="This file cannot be uploaded."), 403
        name = secrets.token_hex(8) + "-" + (re.sub(r"[^A-Za-z0-9._-]", "_",
                                                    sent.filename or "upload")[-80:])
        (store / name).write_bytes(data)
        return jsonify(stored=name), 201

    return app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Upload route that refuses known files")
    parser.add_argument("--config", required=True)
    parser.add_argument("--store", required=True, type=Path)
    parser.add_argument("--port", type=int, default=8081)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    args.store.mkdir(parents=True, exist_ok=True)
    checker = build_checker(load_config(args.config))
    create_upload_app(checker, args.store).run("127.0.0.1", args.port)


if __name__ == "__main__":
    main()
