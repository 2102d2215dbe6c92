"""The automation behaviour every script front shares, free of any transport.

``automation-api.md`` (and the fronts built after it: the Conversations API, the XML-RPC
and REST gateways) is implemented here once, over the core services and the windows a
person uses: plain Python values in and out, and :class:`~chinwag.api.errors.ApiError`
(a code of the spec's table and a sentence) for every refusal. A front adapts its wire
format to these calls and alone knows it: :mod:`chinwag.automation` knows D-Bus
(variants, signatures, object paths, error names), and nothing here does.

- :mod:`~chinwag.api.codes`: result codes, error codes with their HRESULTs, MISTATUS,
  message types, report flags (standard library only: ``chinwag-remote`` uses them);
- :mod:`~chinwag.api.errors`: :class:`ApiError`, and the core's errors mapped to codes;
- :mod:`~chinwag.api.ports`: what the API needs of the windows (Protocols);
- :mod:`~chinwag.api.messenger`: accounts, sign-in, status, contacts and groups;
- :mod:`~chinwag.api.windows`: the main window and conversation windows;
- :mod:`~chinwag.api.messages`: one-off sending and the received log (section 6a);
- :mod:`~chinwag.api.events`: core events as the API's events, in plain values.

This package imports nothing here itself, so importing :mod:`chinwag.api.codes` stays
cheap."""
