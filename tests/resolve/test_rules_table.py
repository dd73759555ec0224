"""docs/resolution.md's table of the FOUND rules names, for each rule, tests that exist."""

from __future__ import annotations

import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "resolution.md"


def test_every_rule_of_the_table_names_tests_that_exist_in_tests_resolve() -> None:
    table = [
        line for line in DOC.read_text(encoding="utf-8").splitlines() if re.match(r"\| \d ", line)
    ]
    assert [line.split("|")[1].strip() for line in table] == [str(n) for n in range(1, 9)]
    for line in table:
        cell = line.split("|")[3]
        files = re.findall(r"`(test_\w+\.py)`", cell)
        names = re.findall(r"`(test_\w+)`", cell)
        assert files, line[:60]
        sources = "".join((HERE / name).read_text(encoding="utf-8") for name in files)
        for name in names:
            assert f"def {name}(" in sources, f"{name} is named in docs/resolution.md"
