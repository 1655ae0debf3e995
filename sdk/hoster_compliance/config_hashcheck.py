"""The ``[hashcheck]`` table (PROTOCOL 11.1): the hash lists and the HashCheckService-compatible
API that own-initiative detection checks against. Parsed by ``config.load_config`` into
``Config.hashcheck``.

```toml
[hashcheck]
lists = ["/etc/hoster-compliance/known.txt"]   # relative paths: from the configuration's folder
service_url = "https://hashcheck.example/api"  # optional
username = "example-hosting"
password_env = "HC_HASHCHECK_PASSWORD"         # or password = "..."
category = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"   # the default
subcategory = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"    # the default
timeout_seconds = 10                           # per request to the service
```

Every problem raises ``ConfigError`` naming the dotted key; the password never appears in a
message or a repr. The lists are read when a checker is built, not here."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from .config_values import (
    api_base,
    env_variable,
    kind_of,
    no_unknown_keys,
    positive_number,
    string,
)
from .errors import ConfigError
from .protocol import categories

DEFAULT_CATEGORY = "STATEMENT_CATEGORY_PROTECTION_OF_MINORS"
DEFAULT_SUBCATEGORY = "KEYWORD_CHILD_SEXUAL_ABUSE_MATERIAL"
_KEYS = ("lists", "service_url", "username", "password", "password_env", "category",
         "subcategory", "timeout_seconds")


@dataclass(frozen=True)
class HashcheckConfig:
    """Where to check, and how own-initiative entries are categorised."""

    lists: tuple[str, ...] = ()
    service_url: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    category: str = DEFAULT_CATEGORY
    subcategory: str | None = DEFAULT_SUBCATEGORY
    timeout_seconds: float = 10.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "lists", tuple(self.lists))
        if not self.lists and self.service_url is None:
            raise ConfigError("hashcheck", "give lists, a service_url, or both")


def parse_hashcheck(table: Any, env: Mapping[str, str], base_dir: str) -> HashcheckConfig:
    """The ``[hashcheck]`` table; ``env`` serves ``password_env``; relative list paths are
    taken from ``base_dir`` (the configuration file's folder)."""
    if not isinstance(table, dict):
        raise ConfigError("hashcheck", "must be a table ([hashcheck])")
    no_unknown_keys(table, _KEYS, "hashcheck.")
    lists: list[str] = []
    if "lists" in table:
        value = table["lists"]
        if not isinstance(value, list):
            raise ConfigError("hashcheck.lists", f"must be an array of paths, not {kind_of(value)}")
        for position, item in enumerate(value):
            path = string(item, f"hashcheck.lists[{position}]")
            lists.append(os.path.normpath(os.path.join(base_dir, path)))
    values: dict[str, Any] = {"lists": tuple(lists)}
    if "service_url" in table:
        url = api_base(table["service_url"], "hashcheck.service_url")
        if urlsplit(url).scheme != "https" and urlsplit(url).hostname not in (
            "127.0.0.1", "localhost", "::1"
        ):
            # Basic auth and the hashes of what is stored must not cross a network in clear.
            raise ConfigError("hashcheck.service_url", "must be https:// (http only on loopback)")
        values["service_url"] = url
    if "username" in table:
        values["username"] = string(table["username"], "hashcheck.username")
    if "password" in table and "password_env" in table:
        raise ConfigError("hashcheck.password_env", "give either password or password_env, "
                          "not both")
    if "password" in table:
        values["password"] = string(table["password"], "hashcheck.password")
    elif "password_env" in table:
        values["password"] = env_variable(table["password_env"], "hashcheck.password_env", env)
    if ("username" in values) != ("password" in values):
        raise ConfigError("hashcheck.username", "username and password go together")
    if "username" in values and "service_url" not in values:
        raise ConfigError("hashcheck.username", "a username is only used with service_url")
    category = DEFAULT_CATEGORY
    subcategory: str | None = DEFAULT_SUBCATEGORY
    if "category" in table:
        category = string(table["category"], "hashcheck.category")
        if not categories.is_category(category):
            raise ConfigError("hashcheck.category",
                              "must be a STATEMENT_CATEGORY_* code of the harmonised list")
        subcategory = None  # the default sub-category belongs to the default category only
    if "subcategory" in table:
        subcategory = string(table["subcategory"], "hashcheck.subcategory")
        if not categories.is_subcategory(category, subcategory):
            raise ConfigError("hashcheck.subcategory",
                              f"must be a KEYWORD_* code listed under {category}")
        if subcategory == categories.KEYWORD_OTHER:
            raise ConfigError("hashcheck.subcategory", "KEYWORD_OTHER needs a description; "
                              "choose a listed sub-category or leave it out")
    values.update(category=category, subcategory=subcategory)
    if "timeout_seconds" in table:
        values["timeout_seconds"] = positive_number(table["timeout_seconds"],
                                                     "hashcheck.timeout_seconds")
    return HashcheckConfig(**values)
