"""The window of a group conversation (a room, XEP-0045): the conversation window with
the room's subject, its participants, and nicks as authors."""

from __future__ import annotations

from chinwag.core.models import ConversationKind
from chinwag.ui.conversation_window import ConversationWindow


class RoomWindow(ConversationWindow):
    """A room's conversation window (see the module)."""

    KIND = ConversationKind.GROUPCHAT
