"""examples/upload_check.py: a known upload is refused before it is stored, an unknown one is
stored, and an upload that cannot be checked (the service fails) is refused with 503."""

from __future__ import annotations

import hashlib
import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hoster_compliance.detection import HashCheckClient, HashChecker, HashList
from tests.helpers import ROOT
from tests.helpers.hashcheck import PASSWORD, USERNAME, HashCheckServer

LISTED, KNOWN_TO_SERVICE = b"listed locally", b"known to the service"


def load_example() -> Any:
    spec = importlib.util.spec_from_file_location("upload_check",
                                                  ROOT / "examples" / "upload_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def server() -> Iterator[HashCheckServer]:
    with HashCheckServer({hashlib.sha1(KNOWN_TO_SERVICE).hexdigest()}) as srv:
        yield srv


def upload(client: Any, data: bytes, name: str = "photo.jpg") -> Any:
    import io

    return client.post("/upload", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def test_known_files_are_refused_before_they_are_stored(server: HashCheckServer,
                                                        tmp_path: Path) -> None:
    store = tmp_path / "store"
    store.mkdir()
    checker = HashChecker(
        [HashList.from_lines([hashlib.md5(LISTED).hexdigest()], name="known.txt")],
        HashCheckClient(server.url, username=USERNAME, password=PASSWORD,
                        sleep=lambda s: None, timeout=2.0))
    client = load_example().create_upload_app(checker, store).test_client()
    assert upload(client, LISTED).status_code == 403
    assert upload(client, KNOWN_TO_SERVICE).status_code == 403
    assert list(store.iterdir()) == []
    stored = upload(client, b"a holiday photo", "zee bij Noordwijk.jpg")
    assert stored.status_code == 201
    [path] = store.iterdir()
    assert path.read_bytes() == b"a holiday photo" and path.name == stored.get_json()["stored"]
    server.fail_next = 99
    down = upload(client, b"another photo")
    assert down.status_code == 503 and down.get_json()["error"] == "unavailable"
    assert len(list(store.iterdir())) == 1
    assert upload(client, b"", "x").status_code == 503  # empty: checked like any file
    no_file = client.post("/upload", data={}, content_type="multipart/form-data")
    assert no_file.status_code == 400
