"""Ed25519 test keys (PROTOCOL 1, v1a): the seeds and public keys of RFC 8032 section 7.1's first
two vectors, as ``whsk_`` / ``whpk_`` texts, and the text forms themselves."""

from __future__ import annotations

import base64


def whsk(seed: bytes) -> str:
    """``whsk_`` and the base64 of ``seed`` (or of any bytes: tests of bad keys use it too)."""
    return "whsk_" + base64.b64encode(seed).decode()


def whpk(raw: bytes) -> str:
    """``whpk_`` and the base64 of ``raw``."""
    return "whpk_" + base64.b64encode(raw).decode()


#: RFC 8032 section 7.1, TEST 1: the test issuer's key.
SEED = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
SIGNING_KEY = whsk(SEED)
PUBLIC_KEY = whpk(bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"))
#: RFC 8032 section 7.1, TEST 2: another party's key.
OTHER_SEED = bytes.fromhex("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb")
OTHER_SIGNING_KEY = whsk(OTHER_SEED)
OTHER_PUBLIC_KEY = whpk(
    bytes.fromhex("3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"))
