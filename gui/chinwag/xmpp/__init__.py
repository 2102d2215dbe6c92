"""The only package that imports slixmpp: the client, stanza <-> model conversion, and one
module per protocol feature. It implements :class:`chinwag.core.ports.XmppConnection`."""

import sys as _sys
import types as _types


def _import_slixmpp() -> None:
    """Import slixmpp without two things it would otherwise hold for good:

    * pygments: slixmpp colours the XML it logs with it when it can be imported (ANSI
      escapes in Chinwag's log file, 2.5 MB of lexers). Its stanza printer is imported
      while pygments cannot be, then pygments is importable again.
    * importlib.metadata: slixmpp asks it for its own version, which imports email, csv,
      calendar and more (1.1 MB resident) for that one string. It is given the version
      from the METADATA file of the slixmpp being imported, read directly: the same
      answer. Where there is none (not installed from a wheel), slixmpp looks it up as
      usual."""
    if "slixmpp" in _sys.modules:
        return
    version = _slixmpp_version_module()
    if version is not None:
        _sys.modules["slixmpp.version"] = version  # (slixmpp imports it from here)
    hide_pygments = "pygments" not in _sys.modules
    if hide_pygments:
        _sys.modules["pygments"] = None  # type: ignore[assignment]
    try:
        import slixmpp.xmlstream.tostring
    except BaseException:
        if version is not None and _sys.modules.get("slixmpp.version") is version:
            del _sys.modules["slixmpp.version"]
        raise
    finally:
        if hide_pygments:
            del _sys.modules["pygments"]
    if version is not None:
        slixmpp.version = version  # (as importing it sets)


def _slixmpp_version_module() -> _types.ModuleType | None:
    """What ``slixmpp.version`` holds (``__version__``, ``__version_info__``), from the
    installed slixmpp's METADATA; None when that cannot be read as slixmpp would."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("slixmpp")
    if spec is None or not spec.submodule_search_locations:
        return None
    package = Path(next(iter(spec.submodule_search_locations)))
    found = list(package.parent.glob("slixmpp-*.dist-info"))
    if len(found) != 1:
        return None
    try:
        with open(found[0] / "METADATA", encoding="utf-8") as metadata:
            version = next(
                (line[8:].strip() for line in metadata if line.startswith("Version:")), ""
            )
        info = tuple(int(part) for part in version.split(".")[:3])
    except (OSError, ValueError):
        return None
    if len(info) != 3:
        return None
    module = _types.ModuleType("slixmpp.version")
    module.__version__ = version  # type: ignore[attr-defined]
    module.__version_info__ = info  # type: ignore[attr-defined]
    return module


_import_slixmpp()
