"""Files attached to a document or to one of its lines (reference §9.10).

One file per request (multipart, any part name); 201 with ``Location: …/v1/attachment/{id}``.
Sending a file name the document (or that line) already has makes a new revision of that
attachment rather than a second one. Supplier invoices and journal transactions share this.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from ml_connector.sandbox.visma.responses import ApiError

__all__ = ["Attachment", "UploadLike", "store_attachment"]


@dataclass
class Attachment:
    """A file on a document (or one of its lines); ``content`` is the latest revision's bytes."""

    id: str
    name: str
    content: bytes
    content_type: str
    revision: int = 1
    line_number: int | None = None


class UploadLike(Protocol):
    """An uploaded file, as the router reads it from a multipart body."""

    @property
    def filename(self) -> str: ...

    @property
    def content_type(self) -> str: ...

    @property
    def content(self) -> bytes: ...


def store_attachment(
    attachments: list[Attachment], files: Sequence[UploadLike], line_number: int | None
) -> Attachment:
    """Add the request's one file to ``attachments`` (or revise the one of the same name)."""
    if len(files) != 1:
        raise ApiError.bad_request(
            "Error: Send exactly one file per request as multipart/form-data."
        )
    upload = files[0]
    same = next(
        (a for a in attachments if a.name == upload.filename and a.line_number == line_number),
        None,
    )
    if same is not None:
        same.revision += 1
        same.content, same.content_type = upload.content, upload.content_type
        return same
    created = Attachment(
        str(uuid.uuid4()),
        upload.filename,
        upload.content,
        upload.content_type,
        line_number=line_number,
    )
    attachments.append(created)
    return created
