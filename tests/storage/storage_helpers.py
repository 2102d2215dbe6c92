"""Test data for the storage tests: well-known addresses and a message factory."""

from __future__ import annotations

from typing import Any

from chinwag.core.models import (
    ConversationKind,
    Direction,
    Message,
    MessageState,
    Origin,
)

ME = "me@example.org"
PEER = "peer@example.net"
OTHER = "other@example.net"


class MessageFactory:
    """Builds messages; each one is a millisecond newer than the previous unless told."""

    def __init__(self) -> None:
        self.clock = 1_700_000_000.0
        self.serial = 0

    def _next(self, timestamp: float | None) -> tuple[float, str]:
        self.serial += 1
        if timestamp is None:
            self.clock += 0.001
            timestamp = self.clock
        return timestamp, f"uid-{self.serial}"

    def outgoing(
        self,
        body: str = "hello",
        *,
        peer: str = PEER,
        account: str = ME,
        timestamp: float | None = None,
        uid: str | None = None,
        state: MessageState = MessageState.QUEUED,
        kind: ConversationKind = ConversationKind.CHAT,
        **fields: Any,
    ) -> Message:
        ts, default_uid = self._next(timestamp)
        return Message(
            account=account,
            peer=peer,
            direction=Direction.OUTGOING,
            body=body,
            timestamp=ts,
            uid=uid or default_uid,
            kind=kind,
            sender=account,
            state=state,
            **fields,
        )

    def incoming(
        self,
        body: str = "hello",
        *,
        peer: str = PEER,
        account: str = ME,
        timestamp: float | None = None,
        uid: str | None = None,
        state: MessageState = MessageState.RECEIVED,
        kind: ConversationKind = ConversationKind.CHAT,
        origin: Origin = Origin.LIVE,
        **fields: Any,
    ) -> Message:
        ts, default_uid = self._next(timestamp)
        return Message(
            account=account,
            peer=peer,
            direction=Direction.INCOMING,
            body=body,
            timestamp=ts,
            uid=uid or default_uid,
            kind=kind,
            sender=peer,
            sender_resource="laptop",
            state=state,
            origin=origin,
            **fields,
        )
