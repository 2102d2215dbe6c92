"""The attachments of messages (schema version 9): one row per message with a file,
kept by :class:`chinwag.core.files.FileService` through the
:class:`chinwag.core.attachments.AttachmentStore` port."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any, Final

from chinwag.core.attachments import Attachment, AttachmentState
from chinwag.core.models import Direction
from chinwag.storage.database import Database

_COLUMNS: Final = "message_id, account, direction, name, size, mime, url, local_path, state, error"
#: Ids per IN (...) of one look-up.
_BATCH: Final = 500


def _attachment(row: Sequence[Any]) -> Attachment:
    return Attachment(
        message_id=row[0],
        account=row[1],
        direction=Direction(row[2]),
        name=row[3],
        size=row[4],
        mime=row[5],
        url=row[6],
        local_path=row[7],
        state=AttachmentState(row[8]),
        error=row[9],
    )


class SqliteAttachmentStore:
    """Attachments in the history database (its single writer, its readers)."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def put_attachment(self, attachment: Attachment) -> None:
        a = attachment

        def put(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT OR REPLACE INTO attachments ({_COLUMNS}) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    a.message_id,
                    a.account,
                    int(a.direction),
                    a.name,
                    int(a.size),
                    a.mime,
                    a.url,
                    a.local_path,
                    a.state.value,
                    a.error,
                ),
            )

        await self._db.write(put)

    async def set_outgoing_body(self, message_id: int, body: str, oob_url: str) -> None:
        def update(conn: sqlite3.Connection) -> None:
            conn.execute(
                "UPDATE messages SET body = ?, oob_url = ? WHERE id = ?",
                (body, oob_url, message_id),
            )

        await self._db.write(update)

    def attachment(self, message_id: int) -> Attachment | None:
        row = self._db.query_one(
            f"SELECT {_COLUMNS} FROM attachments WHERE message_id = ?", (message_id,)
        )
        return _attachment(row) if row is not None else None

    def attachments(self, message_ids: Sequence[int]) -> dict[int, Attachment]:
        found: dict[int, Attachment] = {}
        ids = list(message_ids)
        for start in range(0, len(ids), _BATCH):
            part = ids[start : start + _BATCH]
            marks = ",".join("?" * len(part))
            for row in self._db.query(
                f"SELECT {_COLUMNS} FROM attachments WHERE message_id IN ({marks})", part
            ):
                found[row[0]] = _attachment(row)
        return found

    def unfinished_attachments(self) -> list[Attachment]:
        return [
            _attachment(row)
            for row in self._db.query(
                f"SELECT {_COLUMNS} FROM attachments WHERE state IN ('uploading', 'downloading')"
            )
        ]
