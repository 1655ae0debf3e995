"""`hoster-compliance init` and the configuration it writes: complete, commented, loadable, fresh
secrets that meet PROTOCOL 13.3's minimums, never overwriting a file."""

from __future__ import annotations

import base64
import stat
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import given
from hypothesis import strategies as st

from hoster_compliance.cli import cli
from hoster_compliance.config import Config, load_config
from hoster_compliance.starter import SIMULATOR_API_BASE, starter_config_text, toml_string
from tests.helpers import ROOT

REF_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"  # Standard Webhooks test vector
KEYS = ("hoster_id", "service_name", "provider_name", "database_url", "operator_tokens",
        "max_body_bytes", "timestamp_tolerance_seconds", "callback_timeout_seconds")
ISSUER_KEYS = ("id", "name", "member_state", "secrets", "api_base", "default_regime")


def init(*args: str) -> Result:
    return CliRunner().invoke(cli, ["init", *args])


def decoded(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def test_init_writes_a_loadable_commented_file_with_fresh_secrets(tmp_path: Path) -> None:
    result = init("--dir", str(tmp_path / "new" / "conf"))
    assert result.exit_code == 0, result.output
    path = tmp_path / "new" / "conf" / "hoster.toml"
    text = path.read_text(encoding="utf-8")
    config = load_config(path, environ={})
    assert isinstance(config, Config)
    # SQLite next to the file, the example issuer calling back to the simulator.
    assert config.database_url == f"sqlite:///{tmp_path}/new/conf/compliance.db"
    (issuer,) = config.issuers
    assert (issuer.id, issuer.member_state, issuer.default_regime) == ("nl-atkm", "NL", "NL_ATKM")
    assert issuer.api_base == SIMULATOR_API_BASE
    # PROTOCOL 13.3: a secret of >= 16 bytes decoded, a token of >= 16 characters.
    (secret,) = issuer.secrets
    assert len(decoded(secret)) >= 16
    (token,) = config.operator_tokens
    assert len(token) >= 16
    # A comment line right above every key names it.
    lines = text.splitlines()
    for key in (*KEYS, *ISSUER_KEYS):
        (at,) = [n for n, line in enumerate(lines) if line.startswith(f"{key} = ")]
        assert lines[at - 1].startswith("# "), key
    # Only the owner may read it: it holds secrets.
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    # Never printed: the output names the file and the next two commands.
    assert secret not in result.output and token not in result.output
    out = result.output.splitlines()
    assert out[1].split() == ["hoster-compliance", "serve", "--config", str(path)]
    assert out[2].split() == ["python", "examples/issuer_simulator.py", "--config", str(path)]


def test_init_makes_new_secrets_every_time(tmp_path: Path) -> None:
    configs = []
    for name in ("a", "b"):
        assert init("--dir", str(tmp_path / name)).exit_code == 0
        configs.append(load_config(tmp_path / name / "hoster.toml", environ={}))
    assert configs[0].operator_tokens != configs[1].operator_tokens
    assert configs[0].issuers[0].secrets != configs[1].issuers[0].secrets


def test_init_defaults_to_the_current_folder(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = init()
    assert result.exit_code == 0, result.output
    assert (tmp_path / "hoster.toml").is_file()
    assert "--config hoster.toml" in result.output


def test_init_never_overwrites(tmp_path: Path) -> None:
    existing = tmp_path / "hoster.toml"
    existing.write_text("# mine\n")
    result = init("--dir", str(tmp_path))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"hoster-compliance: {existing} already exists; not overwritten"]
    assert existing.read_text() == "# mine\n"


def test_init_into_a_file_is_exit_2_with_one_line(tmp_path: Path) -> None:
    afile = tmp_path / "plain"
    afile.write_text("")
    result = init("--dir", str(afile))
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [
        f"hoster-compliance: --dir: {afile} is not a folder"]
    assert "Traceback" not in result.output


def test_starter_text_round_trips_odd_paths_and_a_given_token(tmp_path: Path) -> None:
    odd = str(tmp_path / 'we"ird\\ dir' / "c.db")
    path = tmp_path / "hc.toml"
    path.write_text(starter_config_text(odd, REF_SECRET, "https://i.example/",
                                        operator_token="tok-1-and-more-than-16"))
    config = load_config(path, environ={})
    assert config.database_url == "sqlite:///" + odd
    assert config.operator_tokens == ("tok-1-and-more-than-16",)
    assert config.issuers[0].secrets == (REF_SECRET,)
    assert config.issuers[0].api_base == "https://i.example"


def test_demo_configuration_meets_the_minimums() -> None:
    """examples/demo.toml (the README's quick start) holds the same line as init's file."""
    demo = tomllib.loads((ROOT / "examples" / "demo.toml").read_text())
    assert all(len(token) >= 16 for token in demo["operator_tokens"])
    secrets = [s for issuer in demo["issuers"] for s in issuer["secrets"]]
    assert all(len(decoded(s)) >= 16 for s in secrets)
    assert len(set(secrets)) == len(secrets)


@given(st.text(alphabet=st.characters(exclude_categories=("Cs",))))
def test_toml_string_round_trips(text: str) -> None:
    assert tomllib.loads(f"x = {toml_string(text)}")["x"] == text
