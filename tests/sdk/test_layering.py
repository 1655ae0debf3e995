"""The SDK is importable anywhere: no web framework comes with it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import hoster_compliance


def test_no_sdk_module_imports_flask() -> None:
    modules = [m.name for m in pkgutil.walk_packages(hoster_compliance.__path__,
                                                     "hoster_compliance.")]
    assert "hoster_compliance.service" in modules and "hoster_compliance.cli" in modules
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('flask', 'werkzeug'))\n"
        "assert not bad, bad\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
