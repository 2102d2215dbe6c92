"""What keeps Chinwag's memory down once started (issue 15's start-up goal): module sources
not held after PySide6 has looked at them, no pygments behind slixmpp's log printer, one
TLS context per connection. Each is checked in a fresh interpreter, as the app starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

GUI = str(Path(__file__).resolve().parents[2] / "gui")


def fresh_python(code: str, tmp_path: Path) -> dict[str, object]:
    """Run ``code`` in a new interpreter (offscreen Qt, chinwag importable) and return the
    JSON it prints last."""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", PYTHONPATH=f"{GUI}:{tmp_path}")
    env["HOME"] = str(tmp_path / "home")
    for var in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        env[var] = str(tmp_path / "home" / var.lower())
    out = subprocess.run(
        [sys.executable, "-c", code],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


#: Imported when first used: never by what start-up imports up to signed in (the first
#: window, the core and its XMPP connection, the automation API, the tray).
LATER = (
    "importlib.metadata",  # slixmpp's version (with email, csv, calendar: 1.1 MB)
    "email",
    "html",  # (html.entities: 0.3 MB)
    "platformdirs",  # (the profile's XDG folders are read directly: 0.4 MB)
    "mimetypes",  # (with the first file)
    "getpass",  # (with termios: for a link-local account)
    "chinwag.ui.contact_details_dialog",  # with the account and certificate forms: 0.6 MB
    "chinwag.ui.certificate_dialog",
    "chinwag.ui.account_editor",
    "chinwag.ui.conversation_window",
    "chinwag.ui.room_window",
    "emoji",
    "enchant",
    "zeroconf",
    "ifaddr",
    "aiohttp",
    "keyring",
    "pygments",
)


def test_start_up_imports_only_what_the_first_window_uses(tmp_path: Path) -> None:
    """What the signed-in contact list does not use is imported on first use (each of
    these costs memory held for good once imported)."""
    got = fresh_python(
        "import json, sys\n"
        "import chinwag.app, chinwag.wiring, chinwag.ui.main_window, chinwag.ui.tray\n"
        "import chinwag.ui.notifications, chinwag.ui.window_switcher\n"
        "import chinwag.automation.server, chinwag.gateways.control\n"
        "import chinwag.xmpp.connection, chinwag.storage.message_store\n"
        f"print(json.dumps({{'imported': [m for m in {LATER!r} if m in sys.modules]}}))\n",
        tmp_path,
    )
    assert got == {"imported": []}


def test_the_contact_list_views_do_not_make_pyside_create_every_widget_class(
    tmp_path: Path,
) -> None:
    """A view's viewport, first handed to Python by ``viewport()``, made PySide6 create
    every class derived from QWidget (0.9 MB); the contact and room lists have theirs
    wrapped as a child when they are made, and ``viewport()`` then costs nothing."""
    got = fresh_python(
        "import json\n"
        "import PySide6.QtWidgets as widgets\n"
        "from PySide6.QtWidgets import QApplication\n"
        "from chinwag.ui.main_window import ContactView\n"
        "from chinwag.ui.rooms_section import RoomView\n"
        "app = QApplication([])\n"
        "views = [ContactView(), RoomView()]\n"
        "for view in views:\n"
        "    view.show()\n"
        "    view.grab()\n"
        "    view.viewport().update()\n"
        "names = ('QWizard', 'QCalendarWidget', 'QMdiArea', 'QDial')\n"
        "print(json.dumps({'created': [n for n in names if n in vars(widgets)]}))\n",
        tmp_path,
    )
    assert got == {"created": []}


def test_modules_imported_after_pyside_leave_no_source_behind(tmp_path: Path) -> None:
    """PySide6 reads every later module's source for the word "PySide6" and left it in
    linecache (12 MB signed in); with Chinwag's check the text goes, the answer stays. What
    it read before the check was in place (enum.py, as PySide6 imported it) goes too."""
    (tmp_path / "uses_qt.py").write_text("# built on PySide6\nVALUE = 1\n")
    (tmp_path / "plain.py").write_text("VALUE = 2\n" * 50)
    got = fresh_python(
        "import json, linecache, sys\n"
        "import PySide6.QtCore\n"
        "read = [f for f in linecache.cache if f.endswith('/enum.py')]\n"
        "from chinwag.app import spare_pyside_source_reads\n"
        "spare_pyside_source_reads()\n"
        "import uses_qt, plain\n"
        "feature = sys.modules['shibokensupport.feature']\n"
        "cached = [f for f in linecache.cache if f.endswith(('uses_qt.py', 'plain.py'))]\n"
        "cached += [f for f in read if f in linecache.cache]\n"
        "print(json.dumps({'cached': cached, 'uses_qt': feature.pyside_feature_dict['uses_qt'],"
        " 'plain': feature.pyside_feature_dict['plain'], 'read': len(read)}))\n",
        tmp_path,
    )
    assert got == {"cached": [], "uses_qt": 0, "plain": -1, "read": 1}


def test_the_app_spares_sources_from_its_start(tmp_path: Path) -> None:
    """``main`` installs the check before anything else imports PySide6-using code: the
    first window's modules (imported after PySide6) leave nothing in linecache."""
    got = fresh_python(
        "import json, linecache\n"
        "import chinwag.app as app\n"
        "from unittest import mock\n"
        "with mock.patch('qasync.run', lambda coro: coro.close() or 0):\n"
        "    app.main(['--background'])\n"
        "import chinwag.ui.main_window\n"
        "print(json.dumps({'cached': [f for f in linecache.cache if 'chinwag/ui' in f]}))\n",
        tmp_path,
    )
    assert got == {"cached": []}


def test_slixmpp_is_imported_without_pygments(tmp_path: Path) -> None:
    """slixmpp colours the XML it logs when pygments imports: escapes in the log file and
    2.5 MB of lexers. pygments stays importable for anyone else."""
    got = fresh_python(
        "import json, sys\n"
        "import chinwag.xmpp.connection\n"
        "tostring = sys.modules['slixmpp.xmlstream.tostring']\n"
        "loaded = 'pygments' in sys.modules\n"
        "printed = str(tostring.highlight('<message/>'))\n"
        "import pygments\n"
        "print(json.dumps({'loaded': loaded, 'printed': printed}))\n",
        tmp_path,
    )
    assert got == {"loaded": False, "printed": "<message/>"}


def test_slixmpp_has_its_version_without_importlib_metadata(tmp_path: Path) -> None:
    """slixmpp looked its version up with importlib.metadata (email, csv, calendar...:
    1.1 MB held): it has the same version, read from its METADATA file."""
    got = fresh_python(
        "import json, sys\n"
        "import chinwag.xmpp.connection\n"
        "import slixmpp\n"
        "loaded = sorted({'importlib.metadata', 'email', 'csv'} & set(sys.modules))\n"
        "from importlib.metadata import version\n"
        "print(json.dumps({'loaded': loaded, 'version': slixmpp.__version__,"
        " 'info': list(slixmpp.__version_info__), 'module': slixmpp.version.__version__,"
        " 'metadata': version('slixmpp')}))\n",
        tmp_path,
    )
    assert got["loaded"] == []
    assert got["version"] == got["module"] == got["metadata"]
    assert got["info"] == [int(part) for part in str(got["metadata"]).split(".")[:3]]


def test_a_client_loads_the_system_certificates_once(tmp_path: Path) -> None:
    """slixmpp made a verifying context of its own before Chinwag's replaced it: the
    system's certificates loaded twice per connection (0.8 MB)."""
    got = fresh_python(
        "import json, ssl\n"
        "made = []\n"
        "original = ssl.create_default_context\n"
        "def counting(*a, **k):\n"
        "    made.append(1)\n"
        "    return original(*a, **k)\n"
        "ssl.create_default_context = counting\n"
        "from chinwag.core.models import AccountConfig\n"
        "from chinwag.xmpp.client import ChinwagClient\n"
        "client = ChinwagClient(AccountConfig(jid='sam@example.org'), 'pw')\n"
        "print(json.dumps({'made': len(made), 'verifies': client.ssl_context.verify_mode"
        " == ssl.CERT_REQUIRED, 'hostname': client.ssl_context.check_hostname}))\n",
        tmp_path,
    )
    assert got == {"made": 1, "verifies": True, "hostname": True}
