"""The Conversations API on D-Bus (conversations-api.md sections 3 and 4):
``im.chinwag.Conversations1`` on the messenger object, its signals, and the
``im.chinwag.Conversation1`` objects. The behaviour is
:class:`chinwag.api.conversations.ConversationsApi`'s; here keys become paths and plain
values variants, one or two lines a member.

Conversation objects (:class:`ConversationHandles`): each conversation gets one number
for the run (``/im/chinwag/Chinwag/conversation/<n>``, never given to another). Its
object is exported when a method first returns it to a client, which then holds it; it
is unexported once every client holding it has left the bus (a path that is gone
answers UnknownObject), and exported again, at the same path, when it is returned
again. A signal naming a conversation exports its object too, but a signal gives no one
a hold on it: an object exported by signals alone stays until more than
:data:`~chinwag.automation.constants.UNHELD_CONVERSATION_CAP` such objects are newer
(the oldest goes), or until a method returns it to a client (then it is held)."""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dbus_next import Variant
from dbus_next.service import ServiceInterface

from chinwag.api.conversation_events import signal_of
from chinwag.automation import names
from chinwag.automation.bus import current_call
from chinwag.automation.interfaces import emits
from chinwag.automation.interfaces import messaging_member as member
from chinwag.automation.interfaces import messaging_readable as readable
from chinwag.automation.wire import DICTS, EncodedBody, PlainDict
from chinwag.core.models import ConversationKey, ConversationKind

if TYPE_CHECKING:
    from dbus_next.aio import MessageBus

    from chinwag.automation.adapter import DBusApi

log = logging.getLogger(__name__)


# -- values --------------------------------------------------------------------------


def plain(value: Any) -> Any:
    """A D-Bus value with every variant unwrapped (dictionaries and arrays too)."""
    if isinstance(value, Variant):
        return plain(value.value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def variant(value: Any) -> Variant:
    """A plain value as a variant: bool b, int x, str s, a list of str as, of dicts
    aa{sv}, a dict a{sv}."""
    if isinstance(value, bool):
        return Variant("b", value)
    if isinstance(value, int):
        return Variant("x", value)
    if isinstance(value, str):
        return Variant("s", value)
    if isinstance(value, dict):
        return Variant("a{sv}", dictionary(value))
    if isinstance(value, list):
        if all(isinstance(v, dict) for v in value) and value:
            return Variant("aa{sv}", [dictionary(v) for v in value])
        if all(isinstance(v, int) and not isinstance(v, bool) for v in value) and value:
            return Variant("ax", value)
        return Variant("as", [str(v) for v in value])
    raise TypeError(f"no D-Bus value for {type(value).__name__}")


def dictionary(values: dict[str, Any]) -> dict[str, Variant]:
    """A plain dictionary as ``a{sv}``."""
    return {k: variant(v) for k, v in values.items()}


def events_body(events: list[dict[str, Any]]) -> EncodedBody:
    """A list of plain dictionaries as an ``aa{sv}`` body already marshalled, each
    value typed as :func:`variant` types it."""
    return EncodedBody("aa{sv}", DICTS.dictionaries(events))


# -- the objects and their lifetime ----------------------------------------------------


@dataclass(eq=False)
class ConversationHandle:
    key: ConversationKey
    path: str
    exported: bool = False
    holders: set[str] = field(default_factory=set)
    interface: ServiceInterface | None = None


class ConversationHandles:
    """Conversation objects by key and path (see the module)."""

    def __init__(
        self, bus: MessageBus, dbus: DBusApi, cap: int = names.UNHELD_CONVERSATION_CAP
    ) -> None:
        self._bus = bus
        self._dbus = dbus
        self._cap = cap
        self._numbers = itertools.count(1)
        self._by_key: dict[ConversationKey, ConversationHandle] = {}
        self._by_path: dict[str, ConversationHandle] = {}
        self._held: dict[str, set[ConversationHandle]] = {}
        #: Exported with no holder (by a signal): oldest first.
        self._unheld: OrderedDict[str, ConversationHandle] = OrderedDict()

    def _handle(self, key: ConversationKey) -> ConversationHandle:
        handle = self._by_key.get(key)
        if handle is None:
            handle = ConversationHandle(key, names.CONVERSATION_PATH.format(n=next(self._numbers)))
            self._by_key[key] = handle
        if not handle.exported:
            handle.interface = Conversation(self._dbus, key)
            self._bus.export(handle.path, handle.interface)
            handle.exported = True
            self._by_path[handle.path] = handle
        return handle

    def hand_out(self, key: ConversationKey) -> str:
        """A method returns the conversation: its path, exported, held by the caller."""
        handle = self._handle(key)
        call = current_call.get()
        sender = call.sender if call is not None else None
        if sender:
            handle.holders.add(sender)
            self._held.setdefault(sender, set()).add(handle)
            self._unheld.pop(handle.path, None)
        elif not handle.holders:
            self._keep_unheld(handle)
        return handle.path

    def for_signal(self, key: ConversationKey) -> str:
        """A signal names the conversation: its path, exported, held by nobody new."""
        handle = self._handle(key)
        if not handle.holders:
            self._keep_unheld(handle)
        return handle.path

    def _keep_unheld(self, handle: ConversationHandle) -> None:
        self._unheld[handle.path] = handle
        self._unheld.move_to_end(handle.path)
        while len(self._unheld) > self._cap:
            _path, oldest = self._unheld.popitem(last=False)
            self._unexport(oldest)

    def key(self, path: str) -> ConversationKey | None:
        handle = self._by_path.get(path)
        return handle.key if handle is not None else None

    def exported(self, key: ConversationKey) -> bool:
        handle = self._by_key.get(key)
        return handle is not None and handle.exported

    def client_gone(self, sender: str) -> None:
        """A client left the bus: what only it held goes."""
        for handle in self._held.pop(sender, set()):
            handle.holders.discard(sender)
            if not handle.holders:
                self._unexport(handle)

    def _unexport(self, handle: ConversationHandle) -> None:
        if not handle.exported:
            return
        handle.exported = False
        if handle.interface is not None:
            self._bus.unexport(handle.path, handle.interface)
        handle.interface = None
        self._by_path.pop(handle.path, None)
        self._unheld.pop(handle.path, None)


# -- Conversations1 -----------------------------------------------------------------------


class Conversations(ServiceInterface):
    """``im.chinwag.Conversations1`` on ``/im/chinwag/Chinwag``."""

    def __init__(self, dbus: DBusApi) -> None:
        super().__init__(names.CONVERSATIONS)
        self._d = dbus
        self._c = dbus.api.conversations
        self._u = dbus.api.users

    def _path(self, key: ConversationKey) -> str:
        return self._d.conversations.hand_out(key)

    @member("a{sv}", out="o")
    async def CreateConversation(self, config: dict[str, Variant]) -> str:
        return self._path(await self._c.create(plain(config)))

    @member("s", out="o")
    async def GetConversation(self, uuid: str) -> str:
        return self._path(await self._c.get(uuid))

    @member("as", out="ao")
    async def GetConversations(self, uuids: list[str]) -> list[str]:
        return [self._path(k) for k in await self._c.get_many(uuids)]

    @member(out="as")
    async def GetPublicConversations(self) -> list[str]:
        return await self._c.public()

    @member("s", out="o")
    async def JoinConversation(self, uuid: str) -> str:
        return self._path(await self._c.join(uuid))

    @member("s", out="i")
    async def LeaveConversation(self, uuid: str) -> int:
        return await self._c.leave(uuid)

    @member(out="ao")
    def ListConversations(self) -> list[str]:
        return [self._path(k) for k in self._c.list_conversations()]

    @member("s", out="o")
    def RecreateConversation(self, uuid: str) -> str:
        return self._path(self._c.recreate(uuid))

    @readable("s")
    def Me(self) -> str:
        return self._c.me()

    # -- users (built by the users' part) ---------------------------------------------

    @member("s", out="a{sv}")
    async def GetUserByName(self, name: str) -> dict[str, Variant]:
        return dictionary(await self._u.get_user_by_name(name))

    @member("x", out="a{sv}")
    async def GetUserByIMId(self, im_id: int) -> dict[str, Variant]:
        return dictionary(await self._u.get_user_by_im_id(im_id))

    @member("as", out="aa{sv}")
    async def GetUsersByName(self, names_: list[str]) -> list[dict[str, Variant]]:
        return [dictionary(u) for u in await self._u.get_users_by_name(names_)]

    @member("ax", out="aa{sv}")
    async def GetUsersByIMId(self, im_ids: list[int]) -> list[dict[str, Variant]]:
        return [dictionary(u) for u in await self._u.get_users_by_im_id(im_ids)]

    @member("a{sv}", out="a{sv}")
    async def EditUser(self, changes: dict[str, Variant]) -> dict[str, Variant]:
        return dictionary(await self._u.edit_user(plain(changes)))

    @member("b", out="i")
    def SetOnline(self, online: bool) -> int:
        return self._u.set_online(online)

    @member("as", out="as")
    async def Subscribe(self, users: list[str]) -> list[str]:
        return await self._u.subscribe(users)

    @member("as", out="as")
    def Unsubscribe(self, users: list[str]) -> list[str]:
        return self._u.unsubscribe(users)

    @member(out="as")
    def UnsubscribeFromAll(self) -> list[str]:
        return self._u.unsubscribe_from_all()

    @member(out="as")
    def GetSubscriptions(self) -> list[str]:
        return self._u.get_subscriptions()

    @member("as", out="i")
    async def ManageNotifications(self, events: list[str]) -> int:
        return await self._u.manage_notifications(events)

    # -- signals ----------------------------------------------------------------------
    # Each carries its event as a plain dictionary, written straight to D-Bus bytes
    # when the signal is (chinwag.automation.wire.PlainDict): as variants would be.

    @emits("oa{sv}")
    def OnCreateConversation(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("oa{sv}")
    def OnEditConversation(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("oa{sv}")
    def OnRemoveConversation(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("oa{sv}")
    def OnSendMessage(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("oa{sv}")
    def OnEditMessage(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("oa{sv}")
    def OnRemoveMessage(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("oa{sv}")
    def OnTyping(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("oa{sv}")
    def OnRead(self, path: str, event: PlainDict) -> list[Any]:
        return [path, event]

    @emits("a{sv}")
    def OnSetStatus(self, event: PlainDict) -> PlainDict:
        return event

    @emits("a{sv}")
    def OnEditUser(self, event: PlainDict) -> PlainDict:
        return event

    @emits("a{sv}")
    def OnSubscribe(self, event: PlainDict) -> PlainDict:
        return event

    @emits("a{sv}")
    def OnUnsubscribe(self, event: PlainDict) -> PlainDict:
        return event

    def emit_user_event(self, event: dict[str, Any]) -> None:
        """A user event as its signal."""
        getattr(self, signal_of(event))(PlainDict(event))

    def emit_conversation_event(self, key: ConversationKey, event: dict[str, Any]) -> None:
        """A conversation event as its signal (the path exported for it)."""
        path = self._d.conversations.for_signal(key)
        getattr(self, signal_of(event))(path, PlainDict(event))


# -- Conversation1 ------------------------------------------------------------------------


class Conversation(ServiceInterface):
    """``im.chinwag.Conversation1`` of one conversation."""

    def __init__(self, dbus: DBusApi, key: ConversationKey) -> None:
        super().__init__(names.CONVERSATION)
        self._d = dbus
        self._c = dbus.api.conversations
        self.key = key

    @readable("s")
    def Uuid(self) -> str:
        return self._c.uuid(self.key)

    @readable("s")
    def Address(self) -> str:
        return self.key.peer

    @readable("s")
    def Title(self) -> str:
        return self._c.title(self.key)

    @readable("b")
    def Direct(self) -> bool:
        return self.key.kind is ConversationKind.CHAT

    @readable("b")
    def PublicJoin(self) -> bool:
        return self._c.public_join(self.key)

    @readable("b")
    def Uber(self) -> bool:
        return self._c.uber(self.key)

    @readable("s")
    def CustomData(self) -> str:
        return self._c.custom_data(self.key)

    @readable("aa{sv}")
    def Participants(self) -> list[dict[str, Variant]]:
        return [dictionary(p) for p in self._c.participants(self.key)]

    @readable("x")
    def CreatedTime(self) -> int:
        return self._c.times(self.key)[0]

    @readable("x")
    def LastSequence(self) -> int:
        return self._c.times(self.key)[1]

    @readable("x")
    def LastUpdateTime(self) -> int:
        return self._c.times(self.key)[2]

    # The events are written straight to D-Bus bytes (chinwag.automation.wire): a
    # variant per value and dbus-next's marshalling cost several times more.

    @member("x", "x", out="aa{sv}")
    async def RetransmitEvents(self, first: int, last: int) -> EncodedBody:
        return events_body(await self._c.retransmit(self.key, first, last))

    @member("x", "u", out="aa{sv}")
    async def RetransmitEventsFrom(self, first: int, count: int) -> EncodedBody:
        return events_body(await self._c.retransmit_from(self.key, first, count))

    @member("x", "u", out="aa{sv}")
    async def RetransmitEventsTo(self, last: int, count: int) -> EncodedBody:
        return events_body(await self._c.retransmit_to(self.key, last, count))

    @member(out="io")
    async def OpenWindow(self) -> list[Any]:
        hr, view = await self._c.open_window(self.key)
        return await self._d.window_path(hr, view)

    # -- messages and participants ------------------------------------------------------

    @member("s", "s", out="a{sv}")
    async def SendMessage(self, text: str, payload: str) -> dict[str, Variant]:
        return dictionary(await self._c.send_message(self.key, text, payload))

    @member("s", "a{sv}", out="a{sv}")
    async def EditMessage(
        self, message_uuid: str, changes: dict[str, Variant]
    ) -> dict[str, Variant]:
        return dictionary(await self._c.edit_message(self.key, message_uuid, plain(changes)))

    @member("s", out="a{sv}")
    async def RemoveMessage(self, message_uuid: str) -> dict[str, Variant]:
        return dictionary(await self._c.remove_message(self.key, message_uuid))

    @member(out="i")
    def Typing(self) -> int:
        return self._c.typing(self.key)

    @member("x", out="i")
    async def MarkAsRead(self, sequence: int) -> int:
        return await self._c.mark_as_read(self.key, sequence)

    @member("aa{sv}", out="a{sv}")
    async def AddParticipants(self, participants: list[dict[str, Variant]]) -> dict[str, Variant]:
        return dictionary(await self._c.add_participants(self.key, plain(participants)))

    @member("aa{sv}", out="a{sv}")
    async def EditParticipants(self, participants: list[dict[str, Variant]]) -> dict[str, Variant]:
        return dictionary(await self._c.edit_participants(self.key, plain(participants)))

    @member("as", out="a{sv}")
    async def RemoveParticipants(self, users: list[str]) -> dict[str, Variant]:
        return dictionary(await self._c.remove_participants(self.key, users))

    @member("a{sv}", out="a{sv}")
    async def Update(self, changes: dict[str, Variant]) -> dict[str, Variant]:
        return dictionary(await self._c.update(self.key, plain(changes)))
