"""Helpers shared by the screening tests."""

from __future__ import annotations

import io


def qr_png(payload: str) -> bytes:
    """A PNG holding one QR code with ``payload`` (made with zxing-cpp's writer)."""
    import numpy as np
    import zxingcpp
    from PIL import Image

    code = zxingcpp.create_barcode(payload, zxingcpp.BarcodeFormat.QRCode)
    arr = np.asarray(zxingcpp.write_barcode_to_image(code, scale=6))
    img = Image.new("L", (arr.shape[1] + 80, arr.shape[0] + 80), 255)
    img.paste(Image.fromarray(arr), (40, 40))
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()
