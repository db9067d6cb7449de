"""Docs that restate code are generated; these tests fail when they drift."""

import re
from pathlib import Path

from takeover import docgen

ROOT = Path(__file__).resolve().parents[1]


def test_generated_doc_sections_match_the_code():
    assert docgen.main(["--check"]) == 0, "run `python -m takeover.docgen`"


def test_ci_runs_exactly_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\s*(make \w+)\s*$", readme, re.M)
    assert "make demo" in commands and "make test" in commands
    ci = (ROOT / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M)


def test_the_product_cites_public_sources_not_our_private_reference_notes():
    # The team's reference notes live outside the repository: a user who reads "see domain.md"
    # has nowhere to look. Figures are stated with their public source instead.
    files = [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), *(ROOT / "host").rglob("*.py"),
             *(ROOT / "host").rglob("*.toml"), *(ROOT / "firmware").rglob("*.py"), *(ROOT / "boards").glob("*.py")]
    cited = [str(p.relative_to(ROOT)) for p in files if re.search(r"\bdomain\.md\b|shared/reference", p.read_text())]
    assert cited == []
