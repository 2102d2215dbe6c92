"""Test rig for Chinwag: throwaway certificates, a real Prosody server, a private D-Bus.

The rig is imported by ``tests/conftest.py`` as the top-level package ``rig`` (pytest puts
``tests/`` on ``sys.path`` because ``tests/`` has no ``__init__.py``; ruff's ``src`` setting
lists ``tests`` so the import sorts as first-party).

Modules:

* :mod:`rig.certs`     -- a throwaway CA, a server certificate it signs, an untrusted
  self-signed certificate, SHA-256 fingerprints.
* :mod:`rig.prosody`   -- :class:`~rig.prosody.ProsodyServer`, a Prosody 0.12 instance in a
  temporary directory on free loopback ports (start/stop/restart/pause/resume/crash,
  register/make_user, admin shell).
* :mod:`rig.dbus`      -- :class:`~rig.dbus.PrivateSessionBus`, a private ``dbus-daemon``;
  :func:`~rig.dbus.close_message_bus` for dbus-next's socket leak.
* :mod:`rig.peer`      -- :class:`~rig.peer.XmppPeer`, a scripted slixmpp contact.
* :mod:`rig.qtloop`    -- the qasync loop factory for async tests and the loop-aware
  timeout.
* :mod:`rig.isolation` -- HOME/XDG/runtime-dir/D-Bus environment isolation.
* :mod:`rig.procs`     -- child processes in their own process groups; orphan reaping.

Nothing here touches the user's real XDG directories, session bus or system certificate
store; the fixtures in ``tests/conftest.py`` wire these pieces into tests.
"""
