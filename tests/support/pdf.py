"""Valid PDFs of any size for upload tests and benchmarks: one stream object holds the payload."""

from __future__ import annotations


def pdf_around(payload_size: int) -> tuple[bytes, bytes]:
    """The bytes before and after a ``payload_size``-byte stream that make a readable PDF of them."""
    head = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    objects = [b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>"]
    before, offsets = head, []
    for number, body in enumerate(objects, 1):
        offsets.append(len(before))
        before += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    offsets.append(len(before))
    before += b"3 0 obj\n<</Length %d>>\nstream\n" % payload_size
    after = b"\nendstream\nendobj\n"
    xref_at = len(before) + payload_size + len(after)
    after += b"xref\n0 4\n0000000000 65535 f \n" + b"".join(b"%010d 00000 n \n" % o for o in offsets)
    after += b"trailer\n<</Size 4/Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % xref_at
    return before, after


def pdf_of(payload: bytes) -> bytes:
    """A readable PDF whose one stream is ``payload``."""
    before, after = pdf_around(len(payload))
    return before + payload + after


def payload_size_for(total: int) -> int:
    """The payload size that makes ``pdf_around`` wrap it into exactly ``total`` bytes (or close)."""
    size = total
    for _ in range(3):
        before, after = pdf_around(size)
        size = max(0, total - len(before) - len(after))
    return size
