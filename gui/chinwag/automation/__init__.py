"""The automation API on D-Bus (see the spec in ``automation-api.md``).

:mod:`chinwag.automation.bus` is the app's bus connection: dbus-next's asyncio
``MessageBus`` with a writer that survives bursts (EAGAIN) and a complete close."""
