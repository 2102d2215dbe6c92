"""The script gateways (``gateways.md``): network fronts for scripts that do not speak
D-Bus, each a thin adapter over the transport-neutral API layer (:mod:`chinwag.api`):
the LiveJournal XML-RPC messaging methods and the UCWA 2.0 instant-messaging flow. Off by
default, loopback only, and authenticated by gateway keys (:mod:`.keys`), never the XMPP
password."""
