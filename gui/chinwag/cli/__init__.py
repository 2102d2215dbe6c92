"""``chinwag-remote``: the command-line front of the automation API."""
