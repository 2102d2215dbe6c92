"""The objects of the automation API and their paths: accounts, contacts, groups, and the
conversation-window handles with their lifetime (spec section 5).

Accounts, contacts and groups get a number each the first time they are named, and keep
their path for the run (a contact object exists for any valid address, in the list or
not). A conversation window gets a handle when it is created, by anyone; the handle
outlives the window: once closed it answers S_FALSE until it is released -- by
``Release()``, by the disconnect of every client that received it as a method result, or
by eviction when more than :data:`~chinwag.automation.names.CLOSED_WINDOW_CAP` newer
windows have closed -- and only then is its path unexported."""

from __future__ import annotations

import itertools
import logging
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from chinwag.automation import names
from chinwag.automation.bus import current_call
from chinwag.core.models import ConversationKind

if TYPE_CHECKING:
    from dbus_next.aio import MessageBus
    from dbus_next.service import ServiceInterface

    from chinwag.api.ports import ConversationView, Frame
    from chinwag.core.models import Message

log = logging.getLogger(__name__)


@dataclass(eq=False)
class WindowHandle:
    """One conversation window as scripts see it, open or closed."""

    n: int
    path: str
    account: str
    peer: str
    view: ConversationView | None
    #: One-to-one or a room's (it changes when the window goes on as a group's).
    kind: ConversationKind = ConversationKind.CHAT
    #: Geometry when it closed (the properties keep answering it).
    last_frame: Frame = (0, 0, 0, 0)
    #: What the window held when it closed (History keeps answering it).
    last_transcript: list[tuple[Message, str]] = field(default_factory=list)
    #: Unique bus names of the clients that received the path as a method result.
    holders: set[str] = field(default_factory=set)
    #: True once any client received it (then the last holder leaving releases it).
    handed_out: bool = False
    exported: bool = True
    interfaces: list[ServiceInterface] = field(default_factory=list)
    #: How many windows had closed before this one (its place in the closing order).
    closed_as: int = 0

    @property
    def closed(self) -> bool:
        return self.view is None


class Numbered:
    """Keys -> paths ``template.format(n=1, 2, ...)``, exported on first use."""

    def __init__(
        self,
        bus: MessageBus,
        template: str,
        make: Callable[[Any], ServiceInterface],
    ) -> None:
        self._bus = bus
        self._template = template
        self._make = make
        self._numbers = itertools.count(1)
        self._paths: dict[Any, str] = {}
        self._keys: dict[str, Any] = {}
        self.interfaces: dict[str, ServiceInterface] = {}

    def path(self, key: Any) -> str:
        path = self._paths.get(key)
        if path is None:
            path = self._template.format(n=next(self._numbers))
            self._paths[key] = path
            self._keys[path] = key
            interface = self._make(key)
            self.interfaces[path] = interface
            self._bus.export(path, interface)
        return path

    def key(self, path: str) -> Any | None:
        return self._keys.get(path)

    def known(self, key: Any) -> str | None:
        return self._paths.get(key)

    def forget(self, key: Any) -> None:
        """The object is gone for good (a removed account): unexport it. Its number
        is not given again."""
        path = self._paths.pop(key, None)
        if path is not None:
            self._keys.pop(path, None)
            self.interfaces.pop(path, None)
            self._bus.unexport(path)

    def rekey(self, old: Any, new: Any) -> None:
        """The object named ``old`` is now named ``new`` (a renamed group keeps its path)."""
        path = self._paths.pop(old, None)
        if path is None:
            return
        stale = self._paths.pop(new, None)
        if stale is not None:  # an object already made for the new name: forget it
            self._keys.pop(stale, None)
            self._bus.unexport(stale)
            self.interfaces.pop(stale, None)
        self._paths[new] = path
        self._keys[path] = new


class WindowHandles:
    """Conversation-window handles, their paths and their lifetime."""

    def __init__(
        self,
        bus: MessageBus,
        make_interfaces: Callable[[WindowHandle], list[ServiceInterface]],
        cap: int = names.CLOSED_WINDOW_CAP,
    ) -> None:
        self._bus = bus
        self._make = make_interfaces
        self._cap = cap
        self._numbers = itertools.count(1)
        self._by_view: dict[int, WindowHandle] = {}
        self._by_path: dict[str, WindowHandle] = {}
        self._closed: OrderedDict[str, WindowHandle] = OrderedDict()
        self._closes = 0  # windows closed in this run
        self._held: dict[str, set[WindowHandle]] = {}

    # -- what the windows tell us --------------------------------------------------------

    def created(self, view: ConversationView) -> WindowHandle:
        n = next(self._numbers)
        handle = WindowHandle(
            n, names.WINDOW_PATH.format(n=n), view.account, view.peer, view, view.kind
        )
        handle.interfaces = self._make(handle)
        for interface in handle.interfaces:
            self._bus.export(handle.path, interface)
        self._by_view[id(view)] = handle
        self._by_path[handle.path] = handle
        return handle

    def destroyed(self, view: ConversationView) -> WindowHandle | None:
        """The window closed (by anyone): the handle now answers S_FALSE."""
        handle = self._by_view.pop(id(view), None)
        if handle is None:
            return None
        try:
            handle.last_frame = view.frame()
            handle.last_transcript = view.transcript()
        except RuntimeError:  # the widget is already gone
            log.debug("no geometry for the closed window %s", handle.path)
        handle.view = None
        handle.closed_as = self._closes
        self._closes += 1
        self._closed[handle.path] = handle
        if handle.handed_out and not handle.holders:
            self.release(handle)  # everyone who held it let go while it was open
        # Evicted once more than ``cap`` newer windows have closed (released or not).
        while self._closed:
            oldest = next(iter(self._closed.values()))
            if self._closes - 1 - oldest.closed_as <= self._cap:
                break
            self.release(oldest)
        return handle

    def replaced(self, old: ConversationView, new: ConversationView) -> WindowHandle | None:
        """``old`` goes on as ``new`` (a one-to-one conversation became a group's): the
        handle of ``old`` stands for ``new`` now, and ``new`` gets no handle of its own."""
        handle = self._by_view.pop(id(old), None)
        if handle is None:
            return None
        if id(new) in self._by_view:  # open already, with its own handle
            self._by_view[id(old)] = handle
            return None
        handle.view, handle.peer, handle.kind = new, new.peer, new.kind
        self._by_view[id(new)] = handle
        return handle

    def for_room(self, account: str, room: str) -> WindowHandle | None:
        """The open handle of a room's window."""
        return next(
            (
                h
                for h in self._by_view.values()
                if (h.account, h.peer, h.kind) == (account, room, ConversationKind.GROUPCHAT)
            ),
            None,
        )

    # -- what scripts do ----------------------------------------------------------------

    def for_view(self, view: ConversationView) -> WindowHandle:
        handle = self._by_view.get(id(view))
        if handle is None:  # made before the API was up
            handle = self.created(view)
        return handle

    def at(self, path: str) -> WindowHandle | None:
        return self._by_path.get(path)

    def open_handles(self) -> list[WindowHandle]:
        return list(self._by_view.values())

    def hand_out(self, handle: WindowHandle) -> str:
        """The path, noting the calling client as a holder (see the module docstring)."""
        call = current_call.get()
        sender = call.sender if call is not None else None
        if sender and handle.exported:
            handle.holders.add(sender)
            handle.handed_out = True
            self._held.setdefault(sender, set()).add(handle)
        return handle.path

    def release_by(self, handle: WindowHandle, sender: str | None) -> None:
        """``Release()``: a closed window goes at once; an open one loses the caller as a
        holder (and goes when it closes, if nobody holds it then)."""
        if handle.closed:
            self.release(handle)
            return
        if sender:
            handle.holders.discard(sender)
            self._held.get(sender, set()).discard(handle)
        handle.handed_out = True

    def client_gone(self, sender: str) -> None:
        """A client left the bus: it holds nothing any more."""
        for handle in self._held.pop(sender, set()):
            handle.holders.discard(sender)
            if handle.closed and not handle.holders:
                self.release(handle)

    def release(self, handle: WindowHandle) -> None:
        if not handle.exported:
            return
        handle.exported = False
        for interface in handle.interfaces:
            self._bus.unexport(handle.path, interface)
        handle.interfaces = []
        self._by_path.pop(handle.path, None)
        self._closed.pop(handle.path, None)
        for holder in handle.holders:
            self._held.get(holder, set()).discard(handle)
        handle.holders.clear()
