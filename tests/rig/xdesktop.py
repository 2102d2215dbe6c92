"""A virtual X desktop for tests: Xvfb on a free display, a real tray host (trayer) on it,
and :class:`XWatch`, which waits on X events (windows created, mapped, reparented, a
selection taken) and looks at the window tree through libX11 (ctypes), and clicks as a
user does (XTEST).

Nothing here sleeps: Xvfb says its display number on a pipe (``-displayfd``; its read end
stays open until Xvfb exits, since Xvfb writes it again after a server reset, and
``-noreset`` means there is none), and every wait is on X events, each followed by a fresh
look at the tree (the event only says that something changed)."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

T = TypeVar("T")

XVFB_SCREEN = ("-screen", "0", "1280x800x24")
TIMEOUT = 30.0

# X protocol constants (X.h)
_STRUCTURE_NOTIFY = 1 << 17
_SUBSTRUCTURE_NOTIFY = 1 << 19
_PROPERTY_CHANGE = 1 << 22
_IS_VIEWABLE = 2
_CLIENT_MESSAGE = 33
_NO_EVENT_MASK = 0


class _WindowAttributes(ctypes.Structure):
    _fields_ = [
        ("x", ctypes.c_int),
        ("y", ctypes.c_int),
        ("width", ctypes.c_int),
        ("height", ctypes.c_int),
        ("border_width", ctypes.c_int),
        ("depth", ctypes.c_int),
        ("visual", ctypes.c_void_p),
        ("root", ctypes.c_ulong),
        ("c_class", ctypes.c_int),
        ("bit_gravity", ctypes.c_int),
        ("win_gravity", ctypes.c_int),
        ("backing_store", ctypes.c_int),
        ("backing_planes", ctypes.c_ulong),
        ("backing_pixel", ctypes.c_ulong),
        ("save_under", ctypes.c_int),
        ("colormap", ctypes.c_ulong),
        ("map_installed", ctypes.c_int),
        ("map_state", ctypes.c_int),
        ("all_event_masks", ctypes.c_long),
        ("your_event_mask", ctypes.c_long),
        ("do_not_propagate_mask", ctypes.c_long),
        ("override_redirect", ctypes.c_int),
        ("screen", ctypes.c_void_p),
    ]


class _ClassHint(ctypes.Structure):
    _fields_ = [("res_name", ctypes.c_void_p), ("res_class", ctypes.c_void_p)]


class _ClientMessage(ctypes.Structure):
    _fields_ = [
        ("type", ctypes.c_int),
        ("serial", ctypes.c_ulong),
        ("send_event", ctypes.c_int),
        ("display", ctypes.c_void_p),
        ("window", ctypes.c_ulong),
        ("message_type", ctypes.c_ulong),
        ("format", ctypes.c_int),
        ("data", ctypes.c_long * 5),
    ]


class _Event(ctypes.Union):
    _fields_ = [("type", ctypes.c_int), ("client", _ClientMessage), ("pad", ctypes.c_long * 24)]


_ERROR_HANDLER = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_void_p, ctypes.c_void_p)


def x_libraries() -> tuple[Any, Any] | None:
    """libX11 and libXtst, or None when either is missing."""
    names = [ctypes.util.find_library("X11"), ctypes.util.find_library("Xtst")]
    if not all(names):
        return None
    x11, xtst = (ctypes.CDLL(n) for n in names)  # type: ignore[arg-type]
    x11.XOpenDisplay.restype = ctypes.c_void_p
    x11.XOpenDisplay.argtypes = [ctypes.c_char_p]
    x11.XDefaultRootWindow.restype = ctypes.c_ulong
    x11.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    x11.XInternAtom.restype = ctypes.c_ulong
    x11.XInternAtom.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XGetSelectionOwner.restype = ctypes.c_ulong
    x11.XGetSelectionOwner.argtypes = [ctypes.c_void_p, ctypes.c_ulong]
    x11.XSelectInput.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_long]
    x11.XQueryTree.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(ctypes.c_ulong),
        ctypes.POINTER(ctypes.POINTER(ctypes.c_ulong)),
        ctypes.POINTER(ctypes.c_uint),
    ]
    x11.XGetWindowAttributes.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.POINTER(_WindowAttributes),
    ]
    x11.XGetClassHint.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.POINTER(_ClassHint)]
    x11.XFree.argtypes = [ctypes.c_void_p]
    x11.XPending.argtypes = [ctypes.c_void_p]
    x11.XNextEvent.argtypes = [ctypes.c_void_p, ctypes.POINTER(_Event)]
    x11.XConnectionNumber.argtypes = [ctypes.c_void_p]
    x11.XFlush.argtypes = [ctypes.c_void_p]
    x11.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    x11.XSetErrorHandler.argtypes = [_ERROR_HANDLER]
    x11.XSendEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_long,
        ctypes.POINTER(_Event),
    ]
    x11.XTranslateCoordinates.argtypes = [
        ctypes.c_void_p,
        ctypes.c_ulong,
        ctypes.c_ulong,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_int),
        ctypes.POINTER(ctypes.c_ulong),
    ]
    xtst.XTestFakeMotionEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_int,
        ctypes.c_ulong,
    ]
    xtst.XTestFakeButtonEvent.argtypes = [
        ctypes.c_void_p,
        ctypes.c_uint,
        ctypes.c_int,
        ctypes.c_ulong,
    ]
    return x11, xtst


# A window vanishing between a look at the tree and a look at it is normal here: its
# error is ignored (Xlib's default handler would end the process).
_ignore_errors = _ERROR_HANDLER(lambda _display, _error: 0)


def missing_desktop() -> str | None:
    """Why these tests cannot run here (None: they can)."""
    for tool, package in (("Xvfb", "xvfb"), ("trayer", "trayer")):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (Debian: {package})"
    if x_libraries() is None:
        return "libX11 or libXtst is not installed (Debian: libx11-6, libxtst6)"
    return None


@dataclass
class Window:
    """One X window as last seen."""

    id: int
    parent: int
    name: str  # WM_CLASS's instance name
    wm_class: str  # WM_CLASS's class name
    viewable: bool
    x: int
    y: int
    width: int
    height: int
    #: Its ancestors' WM_CLASS class names, nearest first (the root's is "").
    ancestors: tuple[str, ...]


class XWatch:
    """A client of the X display that is told of every window change (it selects
    SubstructureNotify on every window it has seen, before looking at its children, so
    nothing created meanwhile is missed) and can wait until a look at the tree finds
    what is asked for."""

    def __init__(self, display: str) -> None:
        libs = x_libraries()
        assert libs is not None
        self._x, self._xtst = libs
        self._x.XSetErrorHandler(_ignore_errors)
        self._dpy = self._x.XOpenDisplay(display.encode())
        if not self._dpy:
            raise RuntimeError(f"cannot open the X display {display}")
        self.root = int(self._x.XDefaultRootWindow(self._dpy))
        self._selected: set[int] = set()
        self._event = _Event()
        self._watch(self.root)  # (a tray taking its selection says so to the root)

    def close(self) -> None:
        if self._dpy:
            self._x.XCloseDisplay(self._dpy)
            self._dpy = None

    # -- looking ---------------------------------------------------------------------------

    def atom(self, name: str) -> int:
        return int(self._x.XInternAtom(self._dpy, name.encode(), 0))

    def selection_owner(self, name: str) -> int:
        return int(self._x.XGetSelectionOwner(self._dpy, self.atom(name)))

    def _watch(self, window: int) -> None:
        if window not in self._selected:
            self._selected.add(window)
            mask = _SUBSTRUCTURE_NOTIFY | _STRUCTURE_NOTIFY
            if window == self.root:
                mask |= _PROPERTY_CHANGE
            self._x.XSelectInput(self._dpy, window, mask)

    def _children(self, window: int) -> list[int]:
        root, parent = ctypes.c_ulong(), ctypes.c_ulong()
        children = ctypes.POINTER(ctypes.c_ulong)()
        count = ctypes.c_uint()
        if not self._x.XQueryTree(
            self._dpy,
            window,
            ctypes.byref(root),
            ctypes.byref(parent),
            ctypes.byref(children),
            ctypes.byref(count),
        ):
            return []
        try:
            return [int(children[i]) for i in range(count.value)]
        finally:
            if children:
                self._x.XFree(children)

    def _describe(self, window: int, parent: int, ancestors: tuple[str, ...]) -> Window | None:
        attrs = _WindowAttributes()
        if not self._x.XGetWindowAttributes(self._dpy, window, ctypes.byref(attrs)):
            return None
        hint = _ClassHint()
        name = wm_class = ""
        if self._x.XGetClassHint(self._dpy, window, ctypes.byref(hint)):
            texts = []
            for part in (hint.res_name, hint.res_class):
                texts.append(ctypes.string_at(part).decode(errors="replace") if part else "")
                if part:
                    self._x.XFree(part)
            name, wm_class = texts
        x, y, child = ctypes.c_int(), ctypes.c_int(), ctypes.c_ulong()
        self._x.XTranslateCoordinates(
            self._dpy,
            window,
            self.root,
            0,
            0,
            ctypes.byref(x),
            ctypes.byref(y),
            ctypes.byref(child),
        )
        return Window(
            window,
            parent,
            name,
            wm_class,
            attrs.map_state == _IS_VIEWABLE,
            x.value,
            y.value,
            attrs.width,
            attrs.height,
            ancestors,
        )

    def windows(self) -> list[Window]:
        """Every window under the root, parents before children (and from now on, told
        of changes to each)."""
        found: list[Window] = []
        todo: list[tuple[int, tuple[str, ...]]] = [(self.root, ())]
        while todo:
            window, ancestors = todo.pop()
            self._watch(window)  # (before its children are asked for)
            for child in self._children(window):
                seen = self._describe(child, window, ancestors)
                if seen is None:
                    continue
                found.append(seen)
                todo.append((child, (seen.wm_class, *ancestors)))
        return found

    # -- waiting ---------------------------------------------------------------------------

    async def wait_for(
        self, look: Callable[[XWatch], T | None], what: str, timeout: float = TIMEOUT
    ) -> T:
        """``look(self)``'s first answer that is not None, looked for now and again
        after each X event."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        fd = self._x.XConnectionNumber(self._dpy)
        readable = asyncio.Event()
        loop.add_reader(fd, readable.set)
        try:
            while True:
                answer = look(self)
                if answer is not None:
                    return answer
                drained = False
                while self._x.XPending(self._dpy):  # (also flushes what was asked)
                    self._x.XNextEvent(self._dpy, ctypes.byref(self._event))
                    drained = True
                if drained:
                    continue
                left = deadline - loop.time()
                if left <= 0:
                    raise AssertionError(f"not seen on the X display within {timeout}s: {what}")
                readable.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(readable.wait(), left)
        finally:
            loop.remove_reader(fd)

    # -- acting as the user ----------------------------------------------------------------

    def click(self, window: Window, button: int = 1) -> None:
        """Move the pointer to the middle of ``window`` and press and release ``button``."""
        x, y = window.x + window.width // 2, window.y + window.height // 2
        self._xtst.XTestFakeMotionEvent(self._dpy, -1, x, y, 0)
        self._xtst.XTestFakeButtonEvent(self._dpy, button, 1, 0)
        self._xtst.XTestFakeButtonEvent(self._dpy, button, 0, 0)
        self._x.XSync(self._dpy, 0)

    def close_window(self, window: int) -> None:
        """Ask ``window`` to close as a window manager's close button does
        (WM_PROTOCOLS / WM_DELETE_WINDOW)."""
        event = _Event()
        event.client.type = _CLIENT_MESSAGE
        event.client.window = window
        event.client.message_type = self.atom("WM_PROTOCOLS")
        event.client.format = 32
        event.client.data[0] = self.atom("WM_DELETE_WINDOW")
        event.client.data[1] = 0  # CurrentTime
        self._x.XSendEvent(self._dpy, window, 0, _NO_EVENT_MASK, ctypes.byref(event))
        self._x.XSync(self._dpy, 0)


# -- the processes -------------------------------------------------------------------------


@contextlib.contextmanager
def xvfb() -> Iterator[str]:
    """Xvfb on a display it picks itself; yields its name (":N")."""
    read, write = os.pipe()
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write), "-noreset", "-nolisten", "tcp", *XVFB_SCREEN],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        pass_fds=(write,),
    )
    os.close(write)
    reader = os.fdopen(read)  # (kept open until Xvfb has exited)
    try:
        number = reader.readline().strip()  # written once the server accepts clients
        if not number:
            raise RuntimeError(f"Xvfb gave no display number (exit code {proc.wait(10)})")
        yield f":{number}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.close()


TRAY_SELECTION = "_NET_SYSTEM_TRAY_S0"


@contextlib.contextmanager
def trayer(display: str) -> Iterator[subprocess.Popen[bytes]]:
    """trayer, a system tray (XEmbed, freedesktop System Tray protocol), on ``display``;
    wait with :func:`wait_tray_manager` until it manages the tray."""
    proc = subprocess.Popen(
        ["trayer", "--edge", "top", "--align", "right", "--widthtype", "request"],
        # (no accessibility bridge: GTK would wait 25 s for a bus the tests do not have)
        env={**os.environ, "DISPLAY": display, "NO_AT_BRIDGE": "1"},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def wait_tray_manager(watch: XWatch) -> None:
    """Until a tray owns the freedesktop tray selection (it then tells the root window
    with a MANAGER client message, an event the watch is told of)."""
    await watch.wait_for(
        lambda w: w.selection_owner(TRAY_SELECTION) or None, "a system tray (trayer)"
    )


def tray_icon(watch: XWatch, wm_class: str = "Chinwag") -> Window | None:
    """The application's icon, shown (viewable) inside the tray's panel."""
    for window in watch.windows():
        in_tray = any(name.lower() == "trayer" for name in window.ancestors)
        if window.wm_class == wm_class and window.viewable and in_tray:
            return window
    return None


def shown_top_levels(watch: XWatch, wm_class: str = "Chinwag") -> list[Window]:
    """The application's windows shown on the screen itself (not in the tray), with a
    title bar's worth of size (Qt's helper windows are 1x1 or 3x3)."""
    return [
        window
        for window in watch.windows()
        if window.parent == watch.root
        and window.wm_class == wm_class
        and window.viewable
        and window.width > 3
    ]
