"""The only package that imports slixmpp: the client, stanza <-> model conversion, and one
module per protocol feature. It implements :class:`chinwag.core.ports.XmppConnection`."""

import sys as _sys


def _import_slixmpp_without_pygments() -> None:
    """slixmpp colours the XML it logs with pygments when pygments can be imported: ANSI
    escapes in Chinwag's log file and 2.5 MB of lexers held for good. Import its stanza
    printer while pygments cannot be imported, then leave pygments importable again."""
    if "slixmpp.xmlstream.tostring" in _sys.modules or "pygments" in _sys.modules:
        return
    _sys.modules["pygments"] = None  # type: ignore[assignment]
    try:
        import slixmpp.xmlstream.tostring  # noqa: F401
    finally:
        del _sys.modules["pygments"]


_import_slixmpp_without_pygments()
