"""Own-initiative detection (PROTOCOL 11): hash lists, the HashCheckService client, checks for
an upload pipeline and the scanner of stored files."""

from __future__ import annotations

from ..config import Config
from ..config_hashcheck import HashcheckConfig
from ..errors import ConfigError
from .check import Digests, HashChecker, Match
from .client import HashCheckClient, HashCheckError
from .hashlist import HashList, HashListError


def build_checker(config: Config | HashcheckConfig) -> HashChecker:
    """A checker for the configured ``[hashcheck]``: every list read (``HashListError`` names a
    bad file and line) and the service client. ``ConfigError`` when there is no ``[hashcheck]``."""
    settings = config.hashcheck if isinstance(config, Config) else config
    if settings is None:
        raise ConfigError("hashcheck", "no [hashcheck] table in the configuration")
    lists = [HashList.load(path) for path in settings.lists]
    service = None
    if settings.service_url is not None:
        service = HashCheckClient(settings.service_url, username=settings.username,
                                  password=settings.password, timeout=settings.timeout_seconds)
    return HashChecker(lists, service)


__all__ = [
    "Digests", "HashCheckClient", "HashCheckError", "HashChecker", "HashList", "HashListError",
    "Match", "build_checker",
]
