"""The linkage policy: defaults, a user's keys over them, and each refusal naming the key."""

from __future__ import annotations

from pathlib import Path

import pytest

from features.linkage.policy import LinkagePolicy, LinkagePolicyError, load_linkage_policy


def test_the_defaults_are_the_documented_ones() -> None:
    assert load_linkage_policy() == LinkagePolicy()


def test_a_users_keys_override_and_change_the_digest(tmp_path: Path) -> None:
    path = tmp_path / "linkage.toml"
    path.write_text("[thresholds]\nlink = 0.995\n[rules]\nsole_candidate = false\n")
    policy = load_linkage_policy(path)
    assert policy.link_threshold == 0.995
    assert policy.review_threshold == LinkagePolicy().review_threshold
    assert not policy.sole_candidate
    assert policy.digest != LinkagePolicy().digest


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[thresholds]\nlink = 1.5\n", r"thresholds.link = 1.5: expected a number in \(0, 1\]"),
        ("[thresholds]\nlinks = 0.9\n", "thresholds.links: unknown key"),
        ("[rules]\nnames_must_agree = 'yes'\n", "rules.names_must_agree = 'yes': expected true"),
        ("[rules]\nbirth_days = -1\n", "rules.birth_days = -1: expected a whole number >= 0"),
        ("[households]\nmax_children = 1\n", "households.max_children = 1"),
        ("[clustering]\n", r"unknown section \[clustering\]"),
        ("[thresholds\n", "not valid TOML"),
    ],
)
def test_a_bad_policy_is_refused_naming_the_key(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "linkage.toml"
    path.write_text(text)
    with pytest.raises(LinkagePolicyError, match=message):
        load_linkage_policy(path)
