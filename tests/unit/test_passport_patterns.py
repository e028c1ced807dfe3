"""Passport v1.2 Pattern Matching (``pattern:`` / ``split_pattern:`` in visa conditions):
the semantics, and a step bound of ``(len(pattern) + 1) * (len(value) + 1)`` that no input can
exceed. Nothing here measures time: the bound is counted in steps, and the end-to-end case
relies on finishing (the regex this replaced never finished it)."""

from __future__ import annotations

import random
from typing import Any

import pytest

from gdi_node.config.trust import Audience
from gdi_node.passport.authorizer import Credentials, RequestFacts
from gdi_node.passport.patterns import match_steps, pattern_matches, step_bound
from tests.support.passport_world import World

FACTS = RequestFacts("test.patterns", "127.0.0.1", "req-patterns")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("", "", True),
        ("", "a", False),
        ("*", "", True),  # '*' matches the empty string
        ("*", "anything at all", True),
        ("?", "", False),
        ("?", "x", True),
        ("?", "xy", False),  # '?' is exactly one character
        ("faculty@*.example", "faculty@uni.example", True),
        ("faculty@un?.example", "faculty@uni.example", True),
        ("faculty@*.org", "faculty@uni.example", False),
        ("Faculty@*", "faculty@uni.example", False),  # case-sensitive
        ("faculty", "faculty@uni.example", False),  # full string, not a prefix
        ("uni.example", "faculty@uni.example", False),  # full string, not a suffix
        ("a*b*c", "abc", True),
        ("a*b*c", "aXXbYYc", True),
        ("a*b*c", "aXXbYY", False),
        ("*a", "banana", True),
        ("*n?", "banana", True),
        ("a**?", "ab", True),  # runs of '*' behave like one
        ("a.c", "abc", False),  # '.' is literal: no regex
        ("[ab]", "a", False),  # brackets are literal
        ("[ab]", "[ab]", True),
        ("\\*", "\\anything", True),  # no escape character: '\' is literal, '*' still special
        ("\\*", "*", False),
        ("*?*?*", "a", False),
        ("*?*?*", "ab", True),
    ],
)
def test_pattern_matching_follows_the_passport_rules(
    pattern: str, value: str, expected: bool
) -> None:
    assert pattern_matches(pattern, value) is expected


def _reference(pattern: str, value: str) -> bool:
    """An independent dynamic-programming matcher: prefix i of pattern vs prefix j of value."""
    table = [[False] * (len(value) + 1) for _ in range(len(pattern) + 1)]
    table[0][0] = True
    for i, ch in enumerate(pattern, start=1):
        table[i][0] = table[i - 1][0] and ch == "*"
        for j in range(1, len(value) + 1):
            if ch == "*":
                table[i][j] = table[i - 1][j] or table[i][j - 1]
            elif ch in ("?", value[j - 1]):
                table[i][j] = table[i - 1][j - 1]
    return table[-1][-1]


def test_pattern_matching_agrees_with_a_reference_matcher_within_the_step_bound() -> None:
    generator = random.Random(15)
    for _ in range(20_000):
        pattern = "".join(generator.choice("ab*?") for _ in range(generator.randint(0, 9)))
        value = "".join(generator.choice("ab") for _ in range(generator.randint(0, 12)))
        matched, steps = match_steps(pattern, value)
        assert matched is _reference(pattern, value), (pattern, value)
        assert steps <= step_bound(pattern, value), (pattern, value, steps)


@pytest.mark.parametrize(
    ("pattern", "value"),
    [
        ("*a" * 30 + "*!", "a" * 255),  # 30+ wildcards, fails only at the very end
        ("*" * 30 + "a" * 200 + "b", "a" * 255),
        ("*" + "a*" * 127, "a" * 254 + "b"),  # 128 wildcards, the most a 255-char value allows
        ("*" + "a" * 127 + "b", "a" * 255),  # the quadratic worst case of one backtrack point
        ("?*" * 200, "x" * 255),
    ],
)
def test_wildcard_matching_is_bounded_by_pattern_times_value_length(
    pattern: str, value: str
) -> None:
    matched, steps = match_steps(pattern, value)
    assert matched is _reference(pattern, value)
    assert steps <= step_bound(pattern, value)


def test_a_long_pattern_fails_before_any_step_when_it_needs_more_characters_than_the_value() -> (
    None
):
    assert match_steps("?" * 300, "x" * 255) == (False, 0)
    assert match_steps("a*" * 5000, "a" * 255) == (False, 0)


def test_a_pathological_wildcard_condition_does_not_freeze_the_worker(
    world: World, stack: Any
) -> None:
    """End to end: a grant whose condition has 30 wildcards, against a 255-character
    AffiliationAndRole value that fails at its last character. The regex matcher this
    replaced backtracked through every way of splitting the value (never finishing)."""
    rule = "pattern:" + "*a" * 30 + "*@!"
    grant = world.grant(conditions=[[{"type": "AffiliationAndRole", "value": rule}]])
    value = "a" * 241 + "@uni.example.x"
    assert len(value) == 255
    affiliation = world.rems.visa("alice", "AffiliationAndRole", value, world.rems.issuer, by="so")
    principal = stack.authorizer.principal(
        Credentials(bearer=world.broker.passport("alice", [grant, affiliation])), FACTS
    )
    assert any(reason == "conditions not met" for _, reason in principal.ignored)
    permit = stack.authorizer.policy.permit(principal, "DS-CTRL", "127.0.0.1")
    assert permit.audience is Audience.ANONYMOUS
