"""An attachment's name and type: from the download's headers, else sensible fallbacks."""

from __future__ import annotations

import pytest

from ml_connector.clients.ramp_models import Bill, InvoiceFile
from ml_connector.flows.attachments import file_key, file_name, file_type

BILL = Bill.model_validate(
    {
        "id": "b-1",
        "amount": {"amount": 100, "currency_code": "NOK"},
        "status": "OPEN",
        "invoice_number": "KAF-3001",
        "vendor": {"id": "v-1", "name": "Kaffe AS"},
    }
)
OPAQUE = "https://files.ramp.test/files/b-1/9f2c1e?X-Amz-Signature=abc"


@pytest.mark.parametrize(
    ("downloaded", "url", "name", "kind"),
    [
        (InvoiceFile(b"%PDF-1.7", "application/pdf", "Faktura 7.pdf"), OPAQUE, "Faktura 7.pdf",
         "application/pdf"),
        (InvoiceFile(b"\x89PNG", None, "kvittering.png"), OPAQUE, "kvittering.png", "image/png"),
        (InvoiceFile(b"%PDF-1.4", None, None), OPAQUE, "KAF-3001-2.pdf", "application/pdf"),
        (InvoiceFile(b"%PDF-1.4", "application/octet-stream", None),
         "https://files.ramp.test/x/scan.pdf?sig=1", "scan.pdf", "application/pdf"),
        (InvoiceFile(b"GIF89a", "image/gif", None), OPAQUE, "KAF-3001-2.gif", "image/gif"),
        (InvoiceFile(b"??", None, None), OPAQUE, "KAF-3001-2.bin", "application/octet-stream"),
    ],
    ids=["headers", "name-only", "nothing-pdf-bytes", "url-name", "type-only", "unknown"],
)  # fmt: skip
def test_name_and_type(downloaded: InvoiceFile, url: str, name: str, kind: str) -> None:
    """Headers first; then the link's own file name; then the invoice number and the type."""
    chosen = file_name(downloaded, url, BILL, 2)
    assert chosen == name
    assert file_type(downloaded, chosen) == kind


def test_a_fresh_link_to_the_same_file_has_the_same_key() -> None:
    """Pre-signed links change their query on every read; the key ignores it."""
    assert file_key(OPAQUE) == file_key(OPAQUE.replace("abc", "def"))
    assert file_key(OPAQUE) != file_key(OPAQUE.replace("9f2c1e", "000000"))
