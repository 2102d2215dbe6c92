"""Serverless chat on the local network (XEP-0174) as an account of its own: what its
address is, and the one call that adds it and signs it in.

The address is the service name the account publishes: ``user-id@host``, where ``id``
is a short id of the profile, so that two profiles on one computer (same user, same
host) do not collide. It is made once and saved with the account, so peers see the same
address every time.

Entry points for the user interface and the automation API (the first-run button, the
accounts dialog, preferences, ``chinwag-remote signin --local``, ``SigninWithOptions``
option ``link-local``): call :func:`enable_link_local` to turn it on,
:func:`disable_link_local` (or ``core.set_enabled(address, False)``) to turn it off,
:func:`link_local_on` and :func:`link_local_account` to find out whether it is.

It never starts by itself: at start-up an enabled link-local account signs in only when
the app was started as a user starts it (not ``--background``, which D-Bus activation
and scripts use, nor ``--no-local``), the one rule being
:meth:`ChinwagCore.auto_signed_in <chinwag.core.service.ChinwagCore.auto_signed_in>`."""

from __future__ import annotations

import hashlib
import re
import socket

from chinwag.core.models import AccountConfig, AccountKind
from chinwag.core.service import ChinwagCore
from chinwag.core.session import AccountSession

#: The local part and host are cut so that the address fits one DNS label (63 bytes).
_MAX_USER = 24
_MAX_HOST = 30


def profile_id(profile_dir: str) -> str:
    """A short id of the profile kept in ``profile_dir`` (four hex digits)."""
    return hashlib.sha256(profile_dir.encode()).hexdigest()[:4]


def _label(text: str, limit: int, fallback: str) -> str:
    cleaned = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")[:limit].strip("-")
    return cleaned or fallback


def link_local_address(profile: str, user: str | None = None, host: str | None = None) -> str:
    """The address (and service name) of the link-local account of profile ``profile``
    (see :func:`profile_id`)."""
    import getpass  # (here: with termios, for link-local accounts only)

    try:
        user = user or getpass.getuser()
    except (KeyError, OSError):  # (no name for this uid)
        user = "chinwag"
    host = host or socket.gethostname().partition(".")[0]
    return f"{_label(user, _MAX_USER, 'chinwag')}-{profile}@{_label(host, _MAX_HOST, 'lan')}"


def link_local_config(
    profile: str, *, nickname: str = "", user: str | None = None, host: str | None = None
) -> AccountConfig:
    """The settings of a new link-local account for profile ``profile``."""
    return AccountConfig(
        jid=link_local_address(profile, user, host),
        nickname=nickname or (user or ""),
        kind=AccountKind.LINK_LOCAL,
    )


def link_local_account(core: ChinwagCore) -> AccountConfig | None:
    """The profile's link-local account, if it has one."""
    return next((a for a in core.accounts.accounts if a.link_local), None)


async def enable_link_local(
    core: ChinwagCore,
    profile: str = "",
    *,
    nickname: str = "",
    user: str | None = None,
    host: str | None = None,
) -> AccountSession:
    """Turn serverless chat on: add the link-local account (once; never the primary
    account when a server account exists), enable it and sign it in. Returns its
    session (signed in: the service is being published and peers browsed).

    ``profile``: the profile id its address ends in (default: ``core.link_local_profile``).
    Turned on in this run, it also signs in again with the other accounts (a status
    picked after Offline, AutoSignin) until the app quits: see
    :attr:`~chinwag.core.service.ChinwagCore.link_local_resumes`."""
    existing = link_local_account(core)
    if existing is None:
        config = link_local_config(
            profile or core.link_local_profile or profile_id(""),
            nickname=nickname,
            user=user,
            host=host,
        )
        session = core.add_account(config, None, remember=False)
    else:
        session = core.session(existing.jid)
        if not existing.enabled:
            await core.set_enabled(existing.jid, True)
    core.link_local_resumes = True
    await core.sign_in(session.account)
    return session


def link_local_on(core: ChinwagCore) -> bool:
    """Serverless chat is turned on: the profile has a link-local account, enabled."""
    account = link_local_account(core)
    return account is not None and account.enabled


async def disable_link_local(core: ChinwagCore) -> bool:
    """Turn serverless chat off: the link-local account is signed out (its service
    withdrawn) and disabled, kept with its history. False when it was not on."""
    account = link_local_account(core)
    if account is None or not account.enabled:
        return False
    await core.set_enabled(account.jid, False)
    return True
