"""The page's fixed texts: each defined once, and the tests footnote names the tests the cells show."""

from __future__ import annotations

import ast
from collections import Counter
from pathlib import Path

from mmbench.leaderboard.report import texts


def test_every_text_is_defined_once():
    tree = ast.parse(Path(texts.__file__).read_text(encoding="utf-8"))
    names = Counter(t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name))
    assert [name for name, n in names.items() if n > 1] == []


def test_the_tests_footnote_names_the_t_test_and_the_family_adjustment():
    assert "paired t-test" in texts.TESTS and "adjusted inside the family" in texts.TESTS
    assert "sign-flip permutation test (exact" not in texts.TESTS and "every comparison on the page" not in texts.TESTS
