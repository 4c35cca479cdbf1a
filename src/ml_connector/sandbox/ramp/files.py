"""A small, valid one-page PDF for a bill: what ``invoice_urls`` download from the sandbox.

Ramp's ``invoice_urls`` are pre-signed links to the uploaded invoice files; the sandbox's file
host (``filehost.py``) serves them, and the control API also serves the same file at
``/_sandbox/files/{bill_id}.pdf`` for people. The page names the vendor, invoice number,
total and bill id, so an attachment can be traced back.
"""

from __future__ import annotations

__all__ = ["invoice_pdf"]


def _escape(text: str) -> str:
    """PDF string literal escaping; non-Latin-1 characters become '?'."""
    safe = text.encode("latin-1", "replace").decode("latin-1")
    return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def invoice_pdf(lines: list[str]) -> bytes:
    """A one-page PDF (Helvetica, A4) showing ``lines`` top to bottom."""
    text_ops = ["BT", "/F1 12 Tf", "14 TL", "56 780 Td"]
    for line in lines:
        text_ops.append(f"({_escape(line)}) Tj T*")
    text_ops.append("ET")
    stream = "\n".join(text_ops).encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref_at = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref_at,
    )
    return bytes(out)
