"""The Qt-free core: models, typed events and the services that own accounts, roster,
presence and messaging. Imports neither Qt, slixmpp nor sqlite3: those sit behind the
ports in :mod:`chinwag.core.ports`."""
