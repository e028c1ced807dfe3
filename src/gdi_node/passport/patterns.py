"""Passport v1.2 Pattern Matching for visa ``conditions`` (``pattern:`` and ``split_pattern:``).

``?`` matches exactly one character, ``*`` any run of characters (the empty one included);
there is no escape character; the match is a full-string, case-sensitive comparison and the
answer is whether one or more ways to match exist.

No regular expression: a pattern built from ``.*`` backtracks exponentially in the number of
``*`` (five took 87 s, twelve never finished, freezing the worker). This is the two-pointer
wildcard matcher with one backtrack point, the last ``*`` seen: on a mismatch it lets that
``*`` swallow one more character and retries the rest. An earlier ``*`` never needs to be
revisited, because the last one can absorb anything an earlier one could. Every step either
advances in the pattern or moves the backtrack point one character on in the value, so the
work is bounded by ``(len(pattern) + 1) * (len(value) + 1)`` steps. Before any step, runs of
``*`` are collapsed to one and a pattern with more other characters than the value has fails
at once, so a long pattern costs at most about ``2 * len(value) ** 2`` steps (values are at
most 255 characters).
"""

from __future__ import annotations


def step_bound(pattern: str, value: str) -> int:
    """The most steps :func:`match_steps` may take for these lengths."""
    return (len(pattern) + 1) * (len(value) + 1)


def _collapse_stars(pattern: str) -> str:
    """``a**b***`` -> ``a*b*``: consecutive ``*`` match what a single one does."""
    kept = [ch for i, ch in enumerate(pattern) if ch != "*" or i == 0 or pattern[i - 1] != "*"]
    return "".join(kept)


def match_steps(pattern: str, value: str) -> tuple[bool, int]:
    """Whether ``value`` matches ``pattern`` in full, and how many steps that took (at most
    :func:`step_bound` of the arguments)."""
    if len(pattern) - pattern.count("*") > len(value):
        return False, 0  # each '?' and literal needs a character of its own
    pattern = _collapse_stars(pattern)
    p = v = steps = 0
    star = -1  # index of the last '*' in the pattern, -1 before any
    resume = 0  # where in the value the characters after that '*' are tried next
    while v < len(value):
        steps += 1
        if p < len(pattern) and pattern[p] == "*":
            star, resume = p, v
            p += 1
        elif p < len(pattern) and pattern[p] in ("?", value[v]):
            p += 1
            v += 1
        elif star >= 0:  # let the last '*' take one more character, retry after it
            resume += 1
            p, v = star + 1, resume
        else:
            return False, steps
    while p < len(pattern) and pattern[p] == "*":  # trailing '*' match the empty rest
        steps += 1
        p += 1
    return p == len(pattern), steps


def pattern_matches(pattern: str, value: str) -> bool:
    """Passport Pattern Matching of ``value`` against ``pattern`` (full string)."""
    return match_steps(pattern, value)[0]
