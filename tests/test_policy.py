"""The house policy holds for every asset, and building the code location raises no warning (each deliberate one
is filtered where it arises). The graph's shape is checked against docs/definitions.json by tests/test_docs.py."""

from __future__ import annotations

import warnings

import pytest
from dagster import Definitions, asset

from mac_assets import keys, policy
from mac_assets.catalog import RAW_VERSION
from mac_assets.shape import default_definitions


@pytest.fixture(scope="module")
def defs() -> Definitions:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a warning while building the code location fails here
        return default_definitions()


def test_every_asset_follows_the_house_policy(defs):
    assert policy.violations(defs) == []


def test_an_asset_declared_around_the_policy_is_named_with_what_it_lacks(defs):
    @asset(key=["scores", "stray"])
    def stray() -> None: ...

    problems = policy.violations(Definitions(assets=[stray]))
    assert any(p.startswith("scores/stray: group is 'default', policy says 'scores'") for p in problems)
    assert any(p.startswith("scores/stray: pool is None") for p in problems)
    assert any("code_version is None" in p for p in problems)


def test_a_methodology_bump_changes_the_code_version_of_computed_assets_only(monkeypatch):
    before = policy.code_version(keys.MAC_COMPOSITE)
    assert all(v in before for v in policy.METHODOLOGIES)
    monkeypatch.setattr(policy, "METHODOLOGIES", (*policy.METHODOLOGIES, "mac-9.9"))
    assert policy.code_version(keys.MAC_COMPOSITE) != before
    assert policy.code_version(keys.derived("vix_term_slope")) == policy.code_version(keys.MAC_COMPOSITE)
    assert policy.code_version(keys.raw("VIX")) == RAW_VERSION
