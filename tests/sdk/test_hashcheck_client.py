"""The HashCheckService client and the checks of an upload pipeline, against a compatible server
on loopback: true/false, Basic auth, retries, and failing closed on errors, other bodies, slow
answers and redirects."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest

from hoster_compliance.detection import (
    HashCheckClient,
    HashChecker,
    HashCheckError,
    HashList,
    build_checker,
)
from hoster_compliance.detection.check import SERVICE_NOTE
from hoster_compliance.detection.client import MAX_ANSWER_BYTES
from tests.helpers.hashcheck import PASSWORD, USERNAME, HashCheckServer

KNOWN = b"known material"
MD5 = hashlib.md5(KNOWN).hexdigest()
SHA1 = hashlib.sha1(KNOWN).hexdigest()


@pytest.fixture
def server() -> Iterator[HashCheckServer]:
    with HashCheckServer({SHA1}) as srv:
        yield srv


def client(server: HashCheckServer, **kwargs: object) -> HashCheckClient:
    sleeps: list[float] = []
    options: dict[str, object] = {"username": USERNAME, "password": PASSWORD,
                                  "sleep": sleeps.append, "timeout": 2.0}
    options.update(kwargs)
    made = HashCheckClient(server.url, **options)  # type: ignore[arg-type]
    made.sleeps = sleeps  # type: ignore[attr-defined]
    return made


def test_true_and_false(server: HashCheckServer) -> None:
    c = client(server)
    assert c.is_known("sha1", SHA1.upper()) is True
    assert c.is_known("md5", MD5) is False
    assert server.requests == [("/api/v1/check/sha1", SHA1, "text/plain"),
                               ("/api/v1/check/md5", MD5, "text/plain")]


def test_retries_then_answers(server: HashCheckServer) -> None:
    server.fail_next = 2
    c = client(server)
    assert c.is_known("sha1", SHA1) is True
    assert len(server.requests) == 3 and len(c.sleeps) == 2  # type: ignore[attr-defined]


@pytest.mark.parametrize("status", [503, 500, 429, 408])
def test_fails_closed_when_errors_persist(server: HashCheckServer, status: int) -> None:
    server.fail_next, server.fail_status = 99, status
    with pytest.raises(HashCheckError, match="failed 3 times"):
        client(server).is_known("sha1", SHA1)
    assert len(server.requests) == 3


@pytest.mark.parametrize("status", [400, 403, 404, 302])
def test_a_refusal_is_an_error_at_once(server: HashCheckServer, status: int) -> None:
    server.fail_next, server.fail_status = 99, status
    with pytest.raises(HashCheckError, match=str(status)):
        client(server).is_known("md5", MD5)
    assert len(server.requests) == 1


def test_wrong_password_is_an_error_and_never_shown(server: HashCheckServer) -> None:
    with pytest.raises(HashCheckError) as info:
        client(server, password="wrong-password-987").is_known("sha1", SHA1)
    assert "401" in str(info.value) and "wrong-password" not in str(info.value)
    assert "wrong-password" not in repr(client(server, password="wrong-password-987"))


@pytest.mark.parametrize("body", [b"yes", b"True", b"", b"true false", b"false" + b" " * 10,
                                  b"x" * (MAX_ANSWER_BYTES + 10)])
def test_any_other_body_is_an_error(server: HashCheckServer, body: bytes) -> None:
    server.body = body
    if body.strip() == b"false":
        assert client(server).is_known("sha1", SHA1) is False  # white space around is fine
        return
    with pytest.raises(HashCheckError, match="neither true nor false"):
        client(server).is_known("sha1", SHA1)


def test_a_slow_answer_times_out_and_fails_closed(server: HashCheckServer) -> None:
    server.delay = 1.0
    with pytest.raises(HashCheckError, match="timeout"):
        client(server, timeout=0.2, attempts=2).is_known("sha1", SHA1)
    assert len(server.requests) == 2


def test_nobody_listening_fails_closed() -> None:
    c = HashCheckClient("http://127.0.0.1:9/api", sleep=lambda s: None, timeout=1.0)
    with pytest.raises(HashCheckError, match="ConnectionError"):
        c.is_known("md5", MD5)


def test_bad_hash_or_algorithm_is_a_value_error(server: HashCheckServer) -> None:
    with pytest.raises(ValueError):
        client(server).is_known("sha256", hashlib.sha256(KNOWN).hexdigest())
    with pytest.raises(ValueError):
        client(server).is_known("sha1", "zz" * 20)
    assert server.requests == []


# -- the checks of an upload pipeline --------------------------------------------------------


def test_check_bytes_file_and_hash_lists_first(server: HashCheckServer, tmp_path: Path) -> None:
    other = b"listed locally"
    listed = HashList.from_lines([hashlib.sha256(other).hexdigest()], name="local.txt")
    checker = HashChecker([listed], client(server))
    match = checker.check_bytes(other)
    assert match is not None and (match.algorithm, match.source) == ("sha256", "local.txt")
    assert server.requests == []  # known locally: the service is not asked
    upload = tmp_path / "upload.bin"
    upload.write_bytes(KNOWN)
    match = checker.check_file(upload)
    assert match is not None and match.source == SERVICE_NOTE
    assert match.content_hash == {"algorithm": "sha1", "value": SHA1}
    assert checker.check_bytes(b"harmless") is None
    assert checker.check_hash(SHA1) == match
    assert checker.check_hash(hashlib.sha256(other).hexdigest().upper()) is not None
    assert checker.check_hash(hashlib.sha256(b"z").hexdigest()) is None  # no service for sha256
    with pytest.raises(ValueError):
        checker.check_hash("abc")
    with pytest.raises(ValueError):
        checker.check_hash(SHA1, "md5")


def test_check_fails_closed_when_the_service_is_down(server: HashCheckServer) -> None:
    server.fail_next = 99
    checker = HashChecker([], client(server))
    with pytest.raises(HashCheckError):
        checker.check_bytes(b"anything")


def test_build_checker_from_the_configuration(server: HashCheckServer, tmp_path: Path) -> None:
    from hoster_compliance.config_hashcheck import HashcheckConfig

    (tmp_path / "k.txt").write_text(MD5 + "\n")
    settings = HashcheckConfig(lists=(str(tmp_path / "k.txt"),), service_url=server.url,
                               username=USERNAME, password=PASSWORD)
    checker = build_checker(settings)
    assert checker.check_bytes(KNOWN) is not None and server.requests == []
    assert checker.check_bytes(b"other") is None and len(server.requests) == 2  # md5, sha1
