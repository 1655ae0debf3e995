"""The vocabulary is defined once: every module that checks a word uses the same definition."""

from __future__ import annotations

import pytest

from hoster_compliance import vocabulary as v
from hoster_compliance.config import _issuer
from hoster_compliance.errors import ConfigError, InvalidPayload
from hoster_compliance.orders import reads
from hoster_compliance.protocol import regimes, schemas_in
from hoster_compliance.report import layout


def test_member_states_are_the_27_eurostat_codes() -> None:
    assert len(v.MEMBER_STATES) == len(set(v.MEMBER_STATES)) == 27
    assert "EL" in v.MEMBER_STATES and "GR" not in v.MEMBER_STATES
    assert list(v.MEMBER_STATES) == sorted(v.MEMBER_STATES)


def test_modules_import_the_vocabulary_rather_than_copy_it() -> None:
    assert schemas_in.MEMBER_STATES is v.MEMBER_STATES
    assert regimes.REGIME_CODES is v.REGIMES
    assert set(regimes.DEFAULT_DEADLINES) == set(v.REGIMES)
    assert schemas_in.ACTIONS is v.RECORDABLE_ACTIONS
    assert schemas_in.KINDS is v.WEBHOOK_KINDS
    assert reads.KINDS is v.KINDS  # the listing filters on own-initiative entries too
    assert (layout.ORDER, layout.NOTICE) == (v.ORDER, v.NOTICE)


def test_reinstated_is_recordable_with_a_reason() -> None:
    assert v.REINSTATED in v.RECORDABLE_ACTIONS and v.REINSTATED not in v.EFFECT_ACTIONS
    assert schemas_in.load_action({"action": "reinstated", "reason": "mistake"})
    with pytest.raises(InvalidPayload):
        schemas_in.load_action({"action": "reinstated"})
    assert v.EFFECT_ACTIONS < set(v.RECORDABLE_ACTIONS)
    assert v.REINSTATABLE_KINDS == {v.NOTICE, v.OWN_INITIATIVE}


def test_own_initiative_is_a_kind_an_issuer_cannot_send() -> None:
    assert v.OWN_INITIATIVE in v.KINDS and v.OWN_INITIATIVE not in v.WEBHOOK_KINDS
    assert v.SELF in v.RESERVED_ISSUER_IDS


@pytest.mark.parametrize("state", v.MEMBER_STATES)
def test_config_accepts_every_member_state(state: str) -> None:
    table = {"id": "x", "member_state": state, "secrets": ["whsec_" + "A" * 32],
             "api_base": "https://issuer.example"}
    assert _issuer(table, "issuers[0].", {}).member_state == state


def test_config_refuses_a_regime_the_schema_refuses() -> None:
    table = {"id": "x", "member_state": "NL", "secrets": ["whsec_" + "A" * 32],
             "api_base": "https://issuer.example", "default_regime": "NL_TCO"}
    with pytest.raises(ConfigError) as caught:
        _issuer(table, "issuers[0].", {})
    assert caught.value.problem == "must be one of " + ", ".join(v.REGIMES)
