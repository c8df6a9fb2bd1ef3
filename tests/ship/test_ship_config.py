"""The [ship] config section: defaults, env alias, validation of retention policy."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.config import load_config
from agent.errors import ConfigError


def test_defaults_are_compliance_six_years_and_a_local_file_vault(tmp_path: Path) -> None:
    """Empty vault_url means file://<home>/vault; COMPLIANCE; 6y default; 30 days local."""
    s = load_config(env={}, home=tmp_path).ship
    assert s.resolved_vault_url(tmp_path) == f"file://{tmp_path.resolve()}/vault"
    assert (s.lock_mode, s.retention_classes["default"], s.keep_local_days, s.interval_seconds) == (
        "COMPLIANCE",
        "6y",
        30,
        15,
    )


def test_sessiontape_vault_url_env_sets_ship_vault_url(tmp_path: Path) -> None:
    """SESSIONTAPE_VAULT_URL is the documented environment alias of ship.vault_url."""
    s = load_config(env={"SESSIONTAPE_VAULT_URL": "s3://records/desk1"}, home=tmp_path).ship
    assert s.vault_url == "s3://records/desk1"


def test_class_rules_from_toml(tmp_path: Path) -> None:
    """class_rules is a list of {url_pattern, class} tables."""
    f = tmp_path / "c.toml"
    f.write_text(
        '[ship]\nclass_rules = [{url_pattern = "https://chat.*", class = "communications"}]\n'
    )
    (rule,) = load_config(f, env={}).ship.class_rules
    assert (rule.url_pattern, rule.record_class) == ("https://chat.*", "communications")


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('retention_classes = {default = "1y"}', "shorter than min_retention 3y"),
        ('retention_classes = {default = "6 years"}', "not a retention period"),
        ('retention_classes = {orders = "6y"}', "needs a 'default' class"),
        ('class_rules = [{url_pattern = "*", class = "nope"}]', "unknown class 'nope'"),
        ('lock_mode = "NONE"', "ship.lock_mode"),
        ("max_put_bytes = 6000000000", "ship.max_put_bytes"),
    ],
)
def test_bad_retention_policy_is_a_config_error_naming_the_key(
    tmp_path: Path, toml: str, message: str
) -> None:
    """Validated at load: a clear ConfigError, never a silent shorter retention."""
    f = tmp_path / "c.toml"
    f.write_text(f"[ship]\n{toml}\n")
    with pytest.raises(ConfigError, match=message):
        load_config(f, env={})
