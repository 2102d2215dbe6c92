"""Message parts straight to D-Bus bytes: ``aa{sv}`` (one message) and ``aaa{sv}`` (a list
of them, GetReceived's answer) from plain values, without building a variant per value.

dbus-next marshals such a body value by value, in Python, through a Variant each: about
70 ms for the 1,000 messages a GetReceived may return. Here each key's D-Bus type is known
(:data:`chinwag.automation.adapter.PART_SIGNATURES`), so a message is written in one pass:
about a tenth of that. The bytes are what dbus-next would write (a test compares them);
:class:`EncodedBody` carries them through dbus-next to the bus writer
(:mod:`chinwag.automation.bus`), which puts them in the message as they are.

:class:`DictsEncoder` does the same for plain dictionaries whose values' types are read
from the values (the Conversations API's events): RetransmitEvents' answer as an
:class:`EncodedBody`, a signal's event as a :class:`PlainDict` written after the
arguments before it."""

from __future__ import annotations

import struct
from collections.abc import Iterable, Mapping
from typing import Any

_U32 = struct.Struct("<I")
_I64 = struct.Struct("<q")
_U32_PACK = _U32.pack
_I64_PACK = _I64.pack
_U32_PACK_INTO = _U32.pack_into
_PADS = [b"\0" * n for n in range(8)]

#: A variant's signature as written: length byte, signature, NUL.
_SIGNATURE_BYTES = {sig: bytes([len(sig)]) + sig.encode() + b"\0" for sig in "sobuxg"}


class EncodedBody:
    """A message body already marshalled (``signature``, ``data``), returned by a member
    in place of the value; the bus writer sends the bytes as they are."""

    __slots__ = ("data", "signature")

    def __init__(self, signature: str, data: bytes) -> None:
        self.signature = signature
        self.data = data

    def __repr__(self) -> str:
        return f"<EncodedBody {self.signature} {len(self.data)} bytes>"


class PartsEncoder:
    """Writes message parts whose keys have fixed D-Bus types (``types``: key -> one of
    ``s o b u x``)."""

    def __init__(self, types: Mapping[str, str]) -> None:
        # Per key: what precedes its value (the key as a D-Bus string, the variant's
        # signature, the padding up to the value's alignment), and the value's type. A
        # dict entry starts at a multiple of 8, so that padding is always the same.
        self._keys: dict[str, tuple[bytes, str]] = {}
        for key, sig in types.items():
            name = key.encode()
            head = _U32_PACK(len(name)) + name + b"\0" + _SIGNATURE_BYTES[sig]
            align = 8 if sig == "x" else 4
            self._keys[key] = (head + _PADS[-len(head) % align], sig)

    def message(self, parts: Iterable[Mapping[str, Any]]) -> bytes:
        """One message, ``aa{sv}``."""
        buf = bytearray()
        self._message(buf, parts)
        return bytes(buf)

    def messages(self, messages: Iterable[Iterable[Mapping[str, Any]]]) -> bytes:
        """A list of messages, ``aaa{sv}``."""
        buf = bytearray(4)
        start = 4  # elements are arrays: aligned to 4 already
        for parts in messages:
            self._message(buf, parts)
        _U32_PACK_INTO(buf, 0, len(buf) - start)
        return bytes(buf)

    def _message(self, buf: bytearray, parts: Iterable[Mapping[str, Any]]) -> None:
        buf += _PADS[-len(buf) % 4]
        at = len(buf)
        buf += b"\0\0\0\0"
        start = len(buf)  # elements are arrays: aligned to 4
        for part in parts:
            self._part(buf, part)
        _U32_PACK_INTO(buf, at, len(buf) - start)

    def _part(self, buf: bytearray, part: Mapping[str, Any]) -> None:
        keys = self._keys
        buf += _PADS[-len(buf) % 4]
        at = len(buf)
        buf += b"\0\0\0\0"
        buf += _PADS[-len(buf) % 8]  # dict entries are aligned to 8
        start = len(buf)
        for key, value in part.items():
            buf += _PADS[-len(buf) % 8]
            head, sig = keys[key]
            buf += head
            if sig in {"s", "o"}:
                data = value.encode()
                buf += _U32_PACK(len(data))
                buf += data
                buf += b"\0"
            elif sig == "x":
                buf += _I64_PACK(value)
            elif sig == "u":
                buf += _U32_PACK(value)
            elif sig == "b":
                buf += _U32_PACK(1 if value else 0)
            else:  # pragma: no cover - the table holds no other type
                raise TypeError(f"no encoding for {sig!r}")
        _U32_PACK_INTO(buf, at, len(buf) - start)


# -- plain dictionaries (the Conversations API's events) ----------------------------------------

#: A key of a dictionary and its value's type, as written before the value (see
#: :meth:`DictsEncoder._dict`), by (key, type).
_Heads = dict[tuple[str, str], bytes]


class DictsEncoder:
    """Plain dictionaries as ``a{sv}`` (:meth:`dictionary`) and lists of them as ``aa{sv}``
    (:meth:`dictionaries`), each value typed as :func:`chinwag.automation.conversations.variant`
    types it: bool ``b``, int ``x``, str ``s``, dict ``a{sv}``, a non-empty list of dicts
    ``aa{sv}``, of ints ``ax``, any other list ``as`` (its items as str). The bytes are
    dbus-next's for the same body of variants (a test compares them)."""

    def __init__(self) -> None:
        self._heads: _Heads = {}

    def dictionary(self, values: Mapping[str, Any]) -> bytes:
        """One dictionary, ``a{sv}``."""
        buf = bytearray()
        self._dict(buf, values)
        return bytes(buf)

    def dictionaries(self, values: Iterable[Mapping[str, Any]]) -> bytes:
        """A list of dictionaries, ``aa{sv}``."""
        buf = bytearray()
        self._dicts(buf, values)
        return bytes(buf)

    def write(self, buf: bytearray, values: Mapping[str, Any]) -> None:
        """Append one dictionary, ``a{sv}``, to ``buf``: a message body being written
        (its alignment is counted from the body's start, ``buf[0]``)."""
        self._dict(buf, values)

    def _head(self, key: str, sig: str) -> bytes:
        # The key as a D-Bus string, the variant's signature, the padding up to the
        # value's alignment: a dict entry starts at a multiple of 8, so it is constant.
        name = key.encode()
        head = _U32_PACK(len(name)) + name + b"\0" + bytes([len(sig)]) + sig.encode() + b"\0"
        head += _PADS[-len(head) % (8 if sig in _ALIGNED_8 else 4)]
        if len(self._heads) < _HEADS_KEPT:
            self._heads[key, sig] = head
        return head

    def _dicts(self, buf: bytearray, values: Iterable[Mapping[str, Any]]) -> None:
        buf += _PADS[-len(buf) % 4]
        at = len(buf)
        buf += b"\0\0\0\0"
        start = len(buf)  # elements are arrays: aligned to 4 already
        for value in values:
            self._dict(buf, value)
        _U32_PACK_INTO(buf, at, len(buf) - start)

    def _dict(self, buf: bytearray, values: Mapping[str, Any]) -> None:
        heads = self._heads
        buf += _PADS[-len(buf) % 4]
        at = len(buf)
        buf += b"\0\0\0\0"
        buf += _PADS[-len(buf) % 8]  # dict entries are aligned to 8
        start = len(buf)
        for key, value in values.items():
            buf += _PADS[-len(buf) % 8]
            kind = type(value)
            if kind is str:
                head = heads.get((key, "s")) or self._head(key, "s")
                data = value.encode()
                buf += head
                buf += _U32_PACK(len(data))
                buf += data
                buf += b"\0"
            elif kind is int:
                buf += heads.get((key, "x")) or self._head(key, "x")
                buf += _I64_PACK(value)
            elif kind is bool:
                buf += heads.get((key, "b")) or self._head(key, "b")
                buf += _U32_PACK(1 if value else 0)
            elif kind is dict:
                buf += heads.get((key, "a{sv}")) or self._head(key, "a{sv}")
                self._dict(buf, value)
            else:
                self._other(buf, key, value)
        _U32_PACK_INTO(buf, at, len(buf) - start)

    def _other(self, buf: bytearray, key: str, value: Any) -> None:
        """A value of another type than exactly str, int, bool or dict (a subclass of
        one of those is written as that one)."""
        if isinstance(value, bool):
            buf += self._head(key, "b")
            buf += _U32_PACK(1 if value else 0)
        elif isinstance(value, int):
            buf += self._head(key, "x")
            buf += _I64_PACK(value)
        elif isinstance(value, str):
            data = value.encode()
            buf += self._head(key, "s")
            buf += _U32_PACK(len(data))
            buf += data
            buf += b"\0"
        elif isinstance(value, dict):
            buf += self._head(key, "a{sv}")
            self._dict(buf, value)
        elif isinstance(value, list):
            self._list(buf, key, value)
        else:
            raise TypeError(f"no D-Bus value for {type(value).__name__}")

    def _list(self, buf: bytearray, key: str, value: list[Any]) -> None:
        if value and all(isinstance(v, dict) for v in value):
            buf += self._head(key, "aa{sv}")
            self._dicts(buf, value)
            return
        if value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
            buf += self._head(key, "ax")  # aligned to 4 after the head: the length
            buf += _U32_PACK(8 * len(value))
            buf += _PADS[-len(buf) % 8]  # not counted in the length
            for v in value:
                buf += _I64_PACK(v)
            return
        buf += self._head(key, "as")
        at = len(buf)
        buf += b"\0\0\0\0"
        start = len(buf)
        for v in value:
            buf += _PADS[-len(buf) % 4]
            data = str(v).encode()
            buf += _U32_PACK(len(data))
            buf += data
            buf += b"\0"
        _U32_PACK_INTO(buf, at, len(buf) - start)


#: Types whose values are aligned to 8 (an array's length is aligned to 4).
_ALIGNED_8 = frozenset({"x"})
#: At most this many (key, type) heads are kept (the events' keys are few).
_HEADS_KEPT = 1024


#: The encoder of plain dictionaries (its keys' heads are shared).
DICTS = DictsEncoder()


class PlainDict:
    """A plain dictionary given as the last argument of a message body whose last type
    is ``a{sv}``: the bus writer (:func:`chinwag.automation.bus.marshall`) writes it with
    :data:`DICTS` after dbus-next has written the arguments before it (a signal's
    object path, say), each value typed as :class:`DictsEncoder` types it."""

    __slots__ = ("values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self.values = values

    def __repr__(self) -> str:
        return f"<PlainDict of {len(self.values)} keys>"
