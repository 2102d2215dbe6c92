"""The documents the README promises are in the repository, and its links lead somewhere.

``docs/automation-api.md`` is the API contract kept in step with the shared spec
(``../shared/spec/automation-api.md`` beside the checkout, where that exists); ``LICENSE``
is the GPL, version 3, as the README and pyproject say."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_SPEC = ROOT.parent / "shared" / "spec" / "automation-api.md"

_MD_LINK = re.compile(r"\]\(([^)\s]+)\)")
_HTML_SRC = re.compile(r"""<img\s[^>]*src=["']([^"']+)["']""")


def _anchor(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation gone, spaces as hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _local_targets(markdown: str) -> list[str]:
    targets = _MD_LINK.findall(markdown) + _HTML_SRC.findall(markdown)
    return [t for t in targets if not re.match(r"[a-z]+:", t)]


@pytest.mark.parametrize("document", ["README.md", "examples/README.md"])
def test_every_local_link_leads_somewhere(document: str) -> None:
    path = ROOT / document
    text = path.read_text()
    anchors = {_anchor(h) for h in re.findall(r"^#+\s+(.*)$", text, re.MULTILINE)}
    broken = []
    for target in _local_targets(text):
        file, _, anchor = target.partition("#")
        found = (path.parent / file).exists() if file else anchor in anchors
        if not found:
            broken.append(target)
    assert broken == []


def test_the_readme_links_the_api_contract_and_the_licence() -> None:
    targets = _local_targets((ROOT / "README.md").read_text())
    assert "docs/automation-api.md" in targets
    assert "LICENSE" in targets


def test_the_licence_is_the_gpl_version_3() -> None:
    text = (ROOT / "LICENSE").read_text()
    assert text.lstrip().startswith("GNU GENERAL PUBLIC LICENSE")
    assert "Version 3, 29 June 2007" in text
    assert "END OF TERMS AND CONDITIONS" in text
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"] == {"text": "GPL-3.0-or-later"}


@pytest.mark.skipif(
    not SHARED_SPEC.is_file(), reason=f"no shared spec beside the checkout ({SHARED_SPEC})"
)
def test_the_api_contract_is_the_shared_spec() -> None:
    ours = (ROOT / "docs" / "automation-api.md").read_text()
    assert ours == SHARED_SPEC.read_text(), (
        f"docs/automation-api.md differs from {SHARED_SPEC}: copy the spec over"
    )
