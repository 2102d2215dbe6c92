"""The layers import one way: ``ui``/``automation`` -> ``api`` -> ``core`` <- ``xmpp``,
``storage``.
Checked by reading every module's imports, so a violation fails here, not in review."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "gui" / "chinwag"

#: What neither the core nor the API layer above it may import: no toolkit, no protocol
#: library, no storage, no transport, nothing of the fronts.
_PURE = (
    "PySide6",
    "slixmpp",
    "sqlite3",
    "dbus_next",
    "qasync",
    "keyring",
    "chinwag.xmpp",
    "chinwag.storage",
    "chinwag.ui",
    "chinwag.automation",
    "chinwag.system",
    "chinwag.app",
    "chinwag.wiring",
)

#: (package prefix, imports it must not use)
RULES = [
    ("chinwag.core", (*_PURE, "chinwag.api")),
    # The API every script front shares: plain values over the core, no transport.
    ("chinwag.api", _PURE),
    ("chinwag.storage", ("PySide6", "slixmpp", "chinwag.xmpp", "chinwag.ui", "chinwag.system")),
    ("chinwag.xmpp", ("PySide6", "sqlite3", "chinwag.storage", "chinwag.ui", "chinwag.system")),
    ("chinwag.system", ("PySide6", "slixmpp", "sqlite3", "chinwag.ui", "chinwag.xmpp")),
    # The script gateways: fronts like the D-Bus adapters, over the API layer only.
    (
        "chinwag.gateways",
        (
            "PySide6",
            "slixmpp",
            "sqlite3",
            "dbus_next",
            "qasync",
            "chinwag.xmpp",
            "chinwag.storage",
            "chinwag.ui",
            "chinwag.automation",
        ),
    ),
]
#: The whole of Chinwag each package may import (storage: only the core's models, and its
#: errors, which the MessageStore port raises: a full disk is StorageUnavailable).
ALLOWED_CHINWAG = {
    "chinwag.storage": (
        "chinwag.core.models",
        "chinwag.core.errors",
        # (the values of files: Attachment, AttachmentState; no service)
        "chinwag.core.attachments",
        "chinwag.storage",
    )
}
#: Only these packages may import these libraries at all.
OWNERS = {"slixmpp": "chinwag.xmpp", "sqlite3": "chinwag.storage"}


def modules() -> list[tuple[str, set[str]]]:
    out = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(p for p in parts if p != "__init__")
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
        out.append((name, imported))
    return out


def _uses(imported: set[str], prefix: str) -> bool:
    return any(i == prefix or i.startswith(prefix + ".") for i in imported)


def test_the_package_is_found() -> None:
    names = [name for name, _ in modules()]
    assert "chinwag.core.messaging" in names
    assert "chinwag.xmpp.connection" in names


@pytest.mark.parametrize(("package", "forbidden"), RULES, ids=[r[0] for r in RULES])
def test_layer_imports(package: str, forbidden: tuple[str, ...]) -> None:
    bad = [
        (name, f)
        for name, imported in modules()
        if name == package or name.startswith(package + ".")
        for f in forbidden
        if _uses(imported, f)
    ]
    assert bad == []


@pytest.mark.parametrize(("library", "owner"), OWNERS.items())
def test_only_the_owner_imports_the_library(library: str, owner: str) -> None:
    bad = [
        name
        for name, imported in modules()
        if _uses(imported, library) and not (name == owner or name.startswith(owner + "."))
    ]
    assert bad == []


@pytest.mark.parametrize(("package", "allowed"), ALLOWED_CHINWAG.items())
def test_package_imports_only_what_it_may_of_chinwag(
    package: str, allowed: tuple[str, ...]
) -> None:
    bad = [
        (name, i)
        for name, imported in modules()
        if name == package or name.startswith(package + ".")
        for i in imported
        if i.startswith("chinwag") and not any(_uses({i}, a) for a in allowed)
    ]
    assert bad == []
