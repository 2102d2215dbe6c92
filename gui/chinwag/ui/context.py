"""What every window and dialog is given: the core, the event bridge and the registry of
conversation windows. Built once by the composition root (``chinwag.app``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from chinwag.core.service import ChinwagCore
from chinwag.system.preferences import Preferences
from chinwag.system.ui_settings import UiSettings
from chinwag.ui.bridge import EventBridge

if TYPE_CHECKING:
    from chinwag.gateways.control import GatewayControl
    from chinwag.system.autostart import LoginEntry
    from chinwag.ui.conversations import ConversationWindows


@dataclass(eq=False)
class UiContext:
    core: ChinwagCore
    bridge: EventBridge
    windows: ConversationWindows
    #: View preferences kept between runs (None: nothing is kept, as in most tests).
    settings: UiSettings | None = None
    #: The user's preferences (the Preferences dialog; in memory only unless given).
    preferences: Preferences = field(default_factory=Preferences)
    #: The script gateways, started and stopped at run time (None: not in this run).
    gateways: GatewayControl | None = None
    #: The "start on login" entry on disk (None: not switched from this run, as in tests).
    login_entry: LoginEntry | None = None
