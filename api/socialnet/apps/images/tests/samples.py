"""Real image files made with Pillow for the tests: nothing is checked in, nothing is faked."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import ExifTags, Image

RED = (220, 20, 30)
BLUE = (20, 40, 220)


def two_tone(width: int = 60, height: int = 40) -> Image.Image:
    """Left half red, right half blue: shows which way an image was turned."""
    im = Image.new("RGB", (width, height), BLUE)
    im.paste(RED, (0, 0, width // 2, height))
    return im


def jpeg_bytes(im: Image.Image | None = None, *, exif: Image.Exif | None = None, **save_kwargs) -> bytes:
    buf = io.BytesIO()
    kwargs = {"quality": 92, **save_kwargs}
    if exif is not None:
        kwargs["exif"] = exif.tobytes()
    (im or two_tone()).save(buf, "JPEG", **kwargs)
    return buf.getvalue()


def gps_exif(*, orientation: int = 1) -> Image.Exif:
    """EXIF with a camera, an orientation and a GPS position: what a phone writes."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneMaker"
    exif[ExifTags.Base.Model] = "Phone 12"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.12)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (2.0, 17.0, 40.5)
    return exif


def jpeg_with_gps(*, orientation: int = 6, width: int = 60, height: int = 40) -> bytes:
    return jpeg_bytes(two_tone(width, height), exif=gps_exif(orientation=orientation), comment=b"secret comment")


def png_bytes(im: Image.Image, **kwargs) -> bytes:
    buf = io.BytesIO()
    im.save(buf, "PNG", **kwargs)
    return buf.getvalue()


def png_with_alpha(width: int = 40, height: int = 30) -> bytes:
    """Opaque red on the left, fully transparent on the right."""
    im = Image.new("RGBA", (width, height), (0, 0, 0, 0))
    im.paste((*RED, 255), (0, 0, width // 2, height))
    return png_bytes(im)


def animated_gif() -> bytes:
    frames = [Image.new("RGB", (30, 20), color) for color in (RED, (20, 200, 40), BLUE)]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buf.getvalue()


def webp_bytes(width: int = 50, height: int = 50) -> bytes:
    buf = io.BytesIO()
    two_tone(width, height).save(buf, "WEBP", quality=90)
    return buf.getvalue()


def heic_bytes() -> bytes:
    import pillow_heif

    heif = pillow_heif.from_pillow(two_tone(64, 48))
    buf = io.BytesIO()
    heif.save(buf, quality=80)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_declaring(width: int, height: int) -> bytes:
    """A structurally valid PNG whose header claims `width`x`height` while the file is a few hundred bytes:
    a decompression bomb if anything trusted it and allocated the bitmap."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    idat = zlib.compress(b"\x00" * 1024, 9)
    return b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", idat) + _png_chunk(b"IEND", b"")


def gif_declaring(width: int, height: int) -> bytes:
    """A GIF header with huge logical-screen dimensions and a tiny body."""
    body = animated_gif()
    return body[:6] + struct.pack("<HH", width, height) + body[10:]


def is_reddish(pixel) -> bool:
    r, g, b = pixel[:3]
    return r > 150 and g < 100 and b < 100


def is_bluish(pixel) -> bool:
    r, g, b = pixel[:3]
    return b > 150 and r < 100 and g < 100


def assert_no_metadata(data: bytes) -> None:
    """No EXIF (so no GPS), no XMP, no comment: in the parsed image and in the raw bytes."""
    im = Image.open(io.BytesIO(data))
    assert not im.getexif(), f"EXIF left in {im.format}"
    for key in ("exif", "xmp", "XML:com.adobe.xmp", "comment"):
        assert key not in im.info, f"{key} left in {im.format}"
    assert b"Exif\x00" not in data
    assert b"PhoneMaker" not in data
    assert b"secret comment" not in data


def stored_files(root) -> list[str]:
    """Every file under the media root, relative: what the storage holds."""
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()) if root.exists() else []
