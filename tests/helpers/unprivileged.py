"""Running a command that file modes apply to. Root reads every file and lists every folder
whatever its mode, through two capabilities (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH); when the
tests run as root (as in CI), the command runs without them (util-linux ``setpriv`` drops them
from its bounding and inheritable sets, so the program it starts never has them), still as root
and so still the owner of the test's files. Run as anyone else, the command runs as is. Either
way a file of mode 000 really is unreadable to it."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence

DAC = "-dac_override,-dac_read_search"


def without_override(command: Sequence[str]) -> list[str]:
    """``command``, started without root's power to ignore file modes (unchanged when this
    process is not root)."""
    if os.geteuid() != 0:
        return list(command)
    return ["setpriv", "--bounding-set", DAC, "--inh-caps", DAC, *command]


def run_bound_by_modes(command: Sequence[str], *, timeout: float = 300
                       ) -> subprocess.CompletedProcess[str]:
    """Run ``command`` bound by file modes, its output captured as UTF-8 text."""
    env = dict(os.environ, PYTHONIOENCODING="utf-8")
    return subprocess.run(without_override(command), capture_output=True, text=True,
                          encoding="utf-8", timeout=timeout, env=env, check=False)
