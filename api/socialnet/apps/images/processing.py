"""Image bytes in, validated facts or rendered files out. No database, no storage: the services do that.

Two stages, both pure functions so they can be tested and benchmarked without Django's ORM:

- `inspect_upload(data)` runs on the request path. It must be cheap and must never decode pixels: it decides the
  format from the content (magic bytes, then Pillow's header parser restricted to that one format), checks the
  declared pixel count against IMAGE_MAX_PIXELS before anything allocates a bitmap, and checks the file's
  structure (end markers, chunk sizes, CRCs) so truncated files and files with something appended are refused.
- `render_image(data, fmt)` runs on the media queue. It decodes frame 0, applies the EXIF orientation, and
  produces a metadata-free original plus WebP variants and a blurhash. JPEGs take a fast path: the decoder is
  asked for the smallest DCT-scaled image that still covers the largest variant, so a 12 MP photo is decoded at
  3/8 of its size (1500 px for a 1440 px variant), and when no rotation is needed the original is cleaned
  losslessly, at the byte level, instead of being decoded and re-encoded. A JPEG that must be turned (most phone
  photos taken upright) is decoded and turned once at full size for its original; its largest variant is
  area-averaged from that bitmap in one pass, and only the small result gets colour management.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass, field

from PIL import Image, ImageCms, ImageFile, UnidentifiedImageError, features

from .placeholders import blurhash_encode

try:  # HEIC/HEIF only where the decoder is installed (it is an optional, binary dependency).
    import pillow_heif

    pillow_heif.register_heif_opener()
    HEIC_SUPPORTED = True
except ImportError:  # pragma: no cover - depends on the environment
    HEIC_SUPPORTED = False

# Never upscaled: an image smaller than a variant's bound is written at its own size.
VARIANTS: tuple[tuple[str, int], ...] = (("large", 1440), ("medium", 720), ("small", 320))
VARIANT_NAMES = tuple(name for name, _ in VARIANTS)
WEBP_QUALITY = 82
# libwebp's effort (0-6). 2 encodes about 4x faster than the default 4 for files a few percent larger: the
# encoder is the largest cost left once decoding is scaled down, and variants are re-made on every upload.
WEBP_METHOD = 2
JPEG_QUALITY = 90
# No second Huffman pass (optimize) when an original must be re-encoded (turned phone photos, HEIC): it changes no
# pixel, saves 2-10% of the file, and costs as much CPU as the whole encode again (~45 ms for 12 MP); originals are
# rarely fetched, the variants are what feeds serve.
JPEG_OPTIMIZE = False

JPEG, PNG, GIF, WEBP, HEIC = "jpeg", "png", "gif", "webp", "heic"
PIL_FORMATS = {JPEG: ("JPEG", "MPO"), PNG: ("PNG",), GIF: ("GIF",), WEBP: ("WEBP",), HEIC: ("HEIF",)}
# What the metadata-free original is written as: browsers cannot show HEIC, and a GIF's frame 0 is a still image.
ORIGINAL_FORMAT = {JPEG: "jpg", PNG: "png", GIF: "png", WEBP: "webp", HEIC: "jpg"}
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}
HEIC_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"hevm", b"hevs", b"mif1", b"msf1"}

# Markup that makes a file a browser-executable polyglot. Only the header and trailer regions and JPEG metadata
# segments are searched: compressed pixel data can contain any short byte sequence by chance.
_MARKUP = (b"<script", b"<html", b"<!doctype", b"<?php", b"<svg", b"<iframe", b"<body", b"<?xml-stylesheet")
_SCAN_WINDOW = 4096


class ImageRejected(Exception):
    """The upload is not an acceptable image. `status` is the HTTP status the API answers with."""

    def __init__(self, message: str, *, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


class ImageRenderError(Exception):
    """The image passed the upload checks but cannot be decoded; the image ends up `failed` with this reason."""


@dataclass(frozen=True)
class UploadInfo:
    format: str
    width: int  # as stored, before orientation is applied
    height: int


@dataclass
class RenderedImage:
    width: int  # after orientation
    height: int
    blurhash: str
    original: bytes
    original_ext: str
    variants: dict[str, bytes] = field(default_factory=dict)


def allowed_formats_text() -> str:
    return "JPEG, PNG, WebP, GIF" + (" or HEIC" if HEIC_SUPPORTED else "")


def sniff_format(head: bytes) -> str | None:
    """The format by magic bytes alone, or None. The file name and the client's Content-Type are never asked."""
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith((b"GIF87a", b"GIF89a")):
        return GIF
    if len(head) >= 12 and head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if len(head) >= 12 and head[4:8] == b"ftyp" and head[8:12] in HEIC_BRANDS:
        return HEIC
    return None


# --- JPEG structure -------------------------------------------------------------------------------------------

_STANDALONE = {0x01, *range(0xD0, 0xD8)}  # TEM and RST0-7 carry no length


def _jpeg_segments(data: bytes):
    """Yield (marker, start, end) for every marker segment, the entropy-coded data folded into the scans,
    and finally ("EOI", pos, pos + 2). Raises ValueError on a malformed or truncated stream."""
    pos = 2
    n = len(data)
    in_scan = False
    while True:
        if in_scan:
            # Entropy-coded data: 0xFF is followed by 0x00 (stuffing), RSTn, fill bytes, or the next marker.
            while True:
                pos = data.find(b"\xff", pos)
                if pos < 0 or pos + 1 >= n:
                    raise ValueError("truncated JPEG: no end-of-image marker")
                nxt = data[pos + 1]
                if nxt == 0x00 or 0xD0 <= nxt <= 0xD7:
                    pos += 2
                    continue
                if nxt == 0xFF:
                    pos += 1
                    continue
                break
            in_scan = False
        if pos + 1 >= n or data[pos] != 0xFF:
            raise ValueError("corrupt JPEG: marker expected")
        while pos + 1 < n and data[pos + 1] == 0xFF:  # fill bytes before a marker
            pos += 1
        if pos + 1 >= n:
            raise ValueError("truncated JPEG")
        marker = data[pos + 1]
        if marker == 0xD9:
            yield marker, pos, pos + 2
            return
        if marker in _STANDALONE:
            yield marker, pos, pos + 2
            pos += 2
            continue
        if pos + 4 > n:
            raise ValueError("truncated JPEG")
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        end = pos + 2 + length
        if length < 2 or end > n:
            raise ValueError("truncated JPEG segment")
        yield marker, pos, end
        pos = end
        if marker == 0xDA:
            in_scan = True


def _jpeg_check(data: bytes) -> None:
    has_scan = False
    eoi_end = None
    for marker, start, end in _jpeg_segments(data):
        if marker == 0xDA:
            has_scan = True
        elif marker == 0xD9:
            eoi_end = end
        elif marker == 0xFE or 0xE0 <= marker <= 0xEF:
            _reject_markup(data[start:end])
    if not has_scan or eoi_end is None:
        raise ImageRejected("The image file is truncated or corrupt.")
    trailer = data[eoi_end:]
    # Phones append secondary JPEGs after the first (MPF: depth maps, gain maps); anything else after the end of
    # the image (a ZIP, a script) is what makes a polyglot.
    if trailer.strip(b"\x00") and not trailer.lstrip(b"\x00").startswith(b"\xff\xd8\xff"):
        raise ImageRejected("The file has unexpected data after the end of the image.")


def jpeg_strip_metadata(data: bytes) -> bytes:
    """The same JPEG, byte for byte in its pixel data, without EXIF, XMP, IPTC, comments or anything after EOI.

    Kept: the JFIF header (APP0, reduced to its fixed fields), the ICC colour profile (APP2 "ICC_PROFILE") and
    Adobe's colour-transform flag (APP14): they say how to decode the pixels' colours and carry nothing about the
    person or place. Every other APP0 goes: APP0 is free-form too (a crafted `GPS:...` APP0 used to survive).
    """
    out = [data[:2]]
    for marker, start, end in _jpeg_segments(data):
        segment = data[start:end]
        if marker == 0xE0:
            segment = _jfif_header(segment)
            if segment is None:
                continue
        elif marker == 0xFE or (0xE1 <= marker <= 0xEF and not _kept_app_segment(marker, segment)):
            continue
        out.append(segment)
        if marker == 0xDA:
            # The scan's entropy-coded data runs up to the next marker: copy it through unchanged.
            nxt = _next_marker_after_scan(data, end)
            out.append(data[end:nxt])
    return b"".join(out)


_JFIF_FIXED = 14  # "JFIF\0", version (2), density units (1), X/Y density (2 + 2), thumbnail width/height (1 + 1)


def _jfif_header(segment: bytes) -> bytes | None:
    """An APP0 segment as we keep it: JFIF's fixed fields with no thumbnail, or None to drop it.

    JFIF's optional thumbnail and whatever follows the fixed fields within the segment's length are arbitrary
    bytes; JFXX (an extension APP0) holds only a thumbnail, possibly a whole JPEG with its own EXIF. Decoders need
    neither, so both go: only the density and version fields, which describe how to lay out the pixels, stay.
    """
    payload = segment[4:]
    if not payload.startswith(b"JFIF\x00") or len(payload) < _JFIF_FIXED:
        return None
    fixed = payload[: _JFIF_FIXED - 2] + b"\x00\x00"  # thumbnail 0 x 0
    return b"\xff\xe0" + struct.pack(">H", len(fixed) + 2) + fixed


def _kept_app_segment(marker: int, segment: bytes) -> bool:
    payload = segment[4:]
    return (marker == 0xE2 and payload.startswith(b"ICC_PROFILE\x00")) or (
        marker == 0xEE and payload.startswith(b"Adobe")
    )


def _next_marker_after_scan(data: bytes, pos: int) -> int:
    n = len(data)
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= n:
            return n
        nxt = data[pos + 1]
        if nxt == 0x00 or 0xD0 <= nxt <= 0xD7 or nxt == 0xFF:
            pos += 1 if nxt == 0xFF else 2
            continue
        return pos


# --- Other formats' structure ---------------------------------------------------------------------------------


def _png_check(data: bytes) -> None:
    if not data.endswith(b"\x00\x00\x00\x00IEND\xaeB`\x82"):
        if b"IEND\xaeB`\x82" in data[-_SCAN_WINDOW:]:
            raise ImageRejected("The file has unexpected data after the end of the image.")
        raise ImageRejected("The image file is truncated or corrupt.")


def _gif_check(data: bytes) -> None:
    if not data.endswith(b";"):
        raise ImageRejected("The image file is truncated or corrupt.")


def _webp_check(data: bytes) -> None:
    declared = struct.unpack("<I", data[4:8])[0] + 8
    if declared > len(data):
        raise ImageRejected("The image file is truncated or corrupt.")
    if len(data) - declared > 1:  # one padding byte is legal
        raise ImageRejected("The file has unexpected data after the end of the image.")


def _heic_check(data: bytes) -> None:
    box = struct.unpack(">I", data[:4])[0]
    if box < 16 or box > len(data):
        raise ImageRejected("The image file is truncated or corrupt.")


_STRUCTURE_CHECKS = {JPEG: _jpeg_check, PNG: _png_check, GIF: _gif_check, WEBP: _webp_check, HEIC: _heic_check}


def _reject_markup(chunk: bytes) -> None:
    lowered = chunk.lower()
    if any(token in lowered for token in _MARKUP):
        raise ImageRejected("The file contains markup or script and is not accepted as an image.")


# --- Upload inspection ----------------------------------------------------------------------------------------


def inspect_upload(data: bytes, *, max_pixels: int) -> UploadInfo:
    """Decide whether `data` is an acceptable image without decoding its pixels. Raises ImageRejected."""
    if not data:
        raise ImageRejected("The submitted file is empty.")
    fmt = sniff_format(data[:32])
    if fmt is None or (fmt == HEIC and not HEIC_SUPPORTED):
        raise ImageRejected(
            f"Unsupported file type: upload a {allowed_formats_text()} image (the format is read from the "
            "file's content, not its name).",
            status=415,
        )
    _reject_markup(data[:_SCAN_WINDOW])
    _reject_markup(data[-_SCAN_WINDOW:])
    try:
        _STRUCTURE_CHECKS[fmt](data)
    except (ValueError, struct.error) as exc:
        raise ImageRejected("The image file is truncated or corrupt.") from exc

    # Pillow's own guard (Image.MAX_IMAGE_PIXELS, set to IMAGE_MAX_PIXELS in apps.images.apps) raises
    # DecompressionBombError at open past twice the limit; the explicit check below covers the rest.
    try:
        with Image.open(io.BytesIO(data), formats=PIL_FORMATS[fmt]) as im:
            width, height = im.size
            if width < 1 or height < 1:
                raise ImageRejected("The image has no pixels.")
            # Declared dimensions, checked before anything allocates a bitmap for them.
            if width * height > max_pixels:
                raise ImageRejected(
                    f"The image is {width}x{height} pixels; at most {max_pixels // 1_000_000} megapixels are accepted.",
                    status=413,
                )
            if fmt == PNG:
                im.verify()  # chunk CRCs and order, without inflating the pixel data
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(
            f"The image's dimensions are too large: at most {max_pixels // 1_000_000} megapixels are accepted.",
            status=413,
        ) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, struct.error) as exc:
        raise ImageRejected("The image file is truncated or corrupt.") from exc
    except Exception as exc:  # any other parser failure on hostile input is still the client's bad file
        raise ImageRejected("The file could not be read as an image.") from exc
    return UploadInfo(format=fmt, width=width, height=height)


# --- Rendering ------------------------------------------------------------------------------------------------

_TRANSPOSE = {
    2: (Image.Transpose.FLIP_LEFT_RIGHT,),
    3: (Image.Transpose.ROTATE_180,),
    4: (Image.Transpose.FLIP_TOP_BOTTOM,),
    5: (Image.Transpose.TRANSPOSE,),
    6: (Image.Transpose.ROTATE_270,),
    7: (Image.Transpose.TRANSVERSE,),
    8: (Image.Transpose.ROTATE_90,),
}
_SRGB = ImageCms.createProfile("sRGB")


def _orientation(im: Image.Image) -> int:
    try:
        value = im.getexif().get(0x0112, 1)
    except Exception:  # a broken EXIF block must not fail the image: treat it as upright
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _fit(width: int, height: int, bound: int) -> tuple[int, int]:
    """The size `thumbnail()` produces for a long side of `bound`, never larger than the source."""
    if max(width, height) <= bound:
        return width, height
    if width >= height:
        return bound, max(1, round(height * bound / width))
    return max(1, round(width * bound / height)), bound


def _normalise(im: Image.Image) -> Image.Image:
    """A decoded frame in sRGB, RGB or RGBA, with no metadata attached."""
    icc = im.info.get("icc_profile")
    has_alpha = im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info)
    target = "RGBA" if has_alpha else "RGB"
    if icc and im.mode in ("RGB", "RGBA", "CMYK", "L"):
        try:
            src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            im = ImageCms.profileToProfile(im, src, _SRGB, outputMode=target if im.mode != "L" else "RGB")
        except (ImageCms.PyCMSError, OSError, ValueError):
            pass  # an unusable profile: show the numbers as sRGB rather than fail the image
    if im.mode != target:
        im = im.convert(target)
    im.info = {}
    return im


def _apply_orientation(im: Image.Image, orientation: int) -> Image.Image:
    for method in _TRANSPOSE.get(orientation, ()):
        im = im.transpose(method)
    return im


def _encode(im: Image.Image, ext: str) -> bytes:
    im.info = {}
    buf = io.BytesIO()
    if ext == "webp-variant":
        im.save(buf, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exif=b"", xmp=b"", icc_profile=None)
    elif ext == "jpg":
        (im if im.mode == "RGB" else im.convert("RGB")).save(
            buf, "JPEG", quality=JPEG_QUALITY, optimize=JPEG_OPTIMIZE, exif=b""
        )
    elif ext == "png":
        im.save(buf, "PNG", optimize=False, compress_level=6)
    elif ext == "webp":
        im.save(buf, "WEBP", quality=JPEG_QUALITY, method=WEBP_METHOD, exif=b"", xmp=b"", icc_profile=None)
    else:  # pragma: no cover - programming error
        raise ValueError(ext)
    return buf.getvalue()


# Pillow allocates bitmaps in blocks and by default frees every one at once: each 12 MP photo then faults ~70 MB of
# fresh pages in (decode, turn, resize), ~17 000 page faults and ~30 ms of kernel time per turned photo. Keeping
# freed 1 MB blocks for the next image brings that to ~2 000 faults and ~7 ms; the price is that a worker process
# holds on to up to BITMAP_CACHE_BLOCKS MB after its first large image (its peak memory does not grow: the same
# blocks are reused).
BITMAP_BLOCK_SIZE = 1 << 20
BITMAP_CACHE_BLOCKS = 128


def reuse_bitmap_memory() -> None:
    """Process-wide: keep Pillow's freed bitmap blocks for the next image. Called once at start-up (apps.ready)."""
    Image.core.set_block_size(BITMAP_BLOCK_SIZE)
    Image.core.set_blocks_max(BITMAP_CACHE_BLOCKS)


def render_image(data: bytes, fmt: str, *, max_pixels: int) -> RenderedImage:
    """Decode, orient, clean and resize. Deterministic: the same bytes always give the same files."""
    try:
        return _render(data, fmt, max_pixels=max_pixels)
    except ImageRenderError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRenderError("The image's dimensions are too large.") from exc
    except MemoryError as exc:
        raise ImageRenderError("The image is too large to process.") from exc
    except Exception as exc:  # Pillow raises OSError, SyntaxError, ValueError... on broken pixel data
        raise ImageRenderError(f"The image could not be decoded ({type(exc).__name__}).") from exc


def _render(data: bytes, fmt: str, *, max_pixels: int) -> RenderedImage:
    im = Image.open(io.BytesIO(data), formats=PIL_FORMATS[fmt])
    source_width, source_height = im.size
    if source_width * source_height > max_pixels:
        raise ImageRenderError("The image's dimensions are too large.")
    orientation = _orientation(im)
    original_ext = ORIGINAL_FORMAT[fmt]
    largest = VARIANTS[0][1]

    if fmt == JPEG and orientation == 1:
        # Fast path: no rotation needed, so the original is cleaned without decoding it, and the pixels are
        # decoded only at the DCT scale (1/1, 1/2, 3/8, 1/4, 1/8) that still covers the largest variant;
        # thumbnail() loads that reduced image and resizes it in place. Colour management runs on the small result only.
        original = jpeg_strip_metadata(data)
        _jpeg_draft(im, largest)
        im.thumbnail((largest, largest), Image.Resampling.LANCZOS, reducing_gap=3.0)
        current = _normalise(im)
        width, height = source_width, source_height
    elif fmt == JPEG and im.mode in ("RGB", "L"):
        current, original = _render_turned_jpeg(im, orientation)
        width, height = (source_height, source_width) if orientation >= 5 else (source_width, source_height)
    else:
        im.seek(0)  # frame 0 of animations
        im.load()
        current = _normalise(im)
        im = None  # drop the decoded frame as soon as it is replaced: full-size bitmaps are the memory peak
        current = _apply_orientation(current, orientation)
        width, height = current.size
        original = _encode(current, original_ext)
        current.thumbnail((largest, largest), Image.Resampling.LANCZOS, reducing_gap=1.0)

    variants: dict[str, bytes] = {}
    for name, bound in VARIANTS:
        # In place and largest first: each variant is resized from the previous, already smaller, one.
        # thumbnail() never upscales, so a small image keeps its own size. reducing_gap=1.0 box-averages the whole
        # integer part of each step first (reduce()) and leaves Lanczos the remainder: large to medium is an exact
        # halving, a 2x2 average in ~2 ms where Lanczos takes ~23 ms for a 1440 px image. The cost is a slightly
        # softer medium and small variant (~0.15 dB after WebP on the benchmark's photos).
        current.thumbnail((bound, bound), Image.Resampling.LANCZOS, reducing_gap=1.0)
        variants[name] = _encode(current, "webp-variant")
    return RenderedImage(
        width=width,
        height=height,
        blurhash=blurhash_encode(current),
        original=original,
        original_ext=original_ext,
        variants=variants,
    )


# libjpeg-turbo scales DCT blocks by any M/8 on decode, but Pillow's draft() only asks for 1/1, 1/2, 1/4 or 1/8:
# a 12 MP photo (4000 px) decodes at 1/2 (2000 px) and Lanczos then shrinks 2000 to 1440 px (~90 ms under load).
# At 3/8 it decodes to 1500 px for ~5 ms more, and the Lanczos step to 1440 px costs ~35 ms: no visible change
# (~0.01 dB after WebP on the benchmark's photos, 1.7 dB softer than 1/2 on a sharp chart). Pillow hands the
# decoder a scale denominator d (scale_num = 1), and libjpeg-turbo serves 1/d with the smallest M/8 >= 1/d: d = 3
# gives 3/8.
# Pillow sizes its line buffer from the image size it was told, so the size set below must be exactly the one
# libjpeg computes (ceil(side * 3 / 8)); only libjpeg-turbo (and IJG 7+) compute it that way, IJG 6b would give
# 1/2 and overrun the buffer, hence the feature check.
_JPEG_SCALE_3_8 = bool(features.check_feature("libjpeg_turbo"))


def _jpeg_draft(im: ImageFile.ImageFile, bound: int) -> None:
    """Ask the JPEG decoder for the smallest DCT-scaled image that still covers `bound` on the long side."""
    width, height = im.size
    target = _fit(width, height, bound)
    scaled = ((width * 3 + 7) // 8, (height * 3 + 7) // 8)
    pillow_scale = min(width // target[0], height // target[1])  # what draft() would pick, rounded down to 1/2/4/8
    if (
        _JPEG_SCALE_3_8
        and 2 <= pillow_scale < 4  # draft() would decode at 1/2 ...
        and scaled[0] >= target[0]  # ... and 3/8 is still large enough for the largest variant
        and scaled[1] >= target[1]
        and len(im.tile) == 1
        and not im.decoderconfig
    ):
        tile = im.tile[0]
        im.tile = [ImageFile._Tile(tile.codec_name, (0, 0, *scaled), tile.offset, tile.args)]
        im._size = scaled
        im.decoderconfig = (3, 0)  # (scale denominator, draft quality off: accurate IDCT, fancy upsampling)
    else:
        im.draft("RGB", target)


def _render_turned_jpeg(im: Image.Image, orientation: int) -> tuple[Image.Image, bytes]:
    """(the largest variant's image, the original's bytes) for a JPEG that must be turned.

    The original needs every pixel turned, so the full decode, one full-size transpose and one full-size encode
    cannot be avoided (Pillow has no DCT-domain turn; and a 4000 x 3000 4:2:0 photo cannot be turned losslessly
    anyway, its 3000 px side is not a whole number of 16 px blocks). What is left is kept off full-size bitmaps:
    the largest variant is area-averaged (BOX) from the turned image in one pass, ~40 ms for 12 MP where a
    reduce(2) then bicubic took ~60 ms, for the same softness as the 3/8 DCT scaling of the upright path (both
    ~30 dB against Lanczos from full size on a sharp test chart; the WebP encode costs more than either). Colour
    management runs on the variant alone: the original keeps the upload's colour profile instead of having every
    pixel converted to sRGB, as the lossless path for upright JPEGs does.
    """
    im.load()
    icc = im.info.get("icc_profile")
    turned = _apply_orientation(im, orientation)
    im.close()  # the decoded frame goes at once: two full-size bitmaps are the memory peak
    original = _encode_original_jpeg(turned, icc)
    largest = VARIANTS[0][1]
    # An area average is a fair filter only when each output pixel covers at least 2 x 2 input pixels; a turned
    # image less than twice the variant's size (at most ~6 MP) gets Lanczos.
    box = max(turned.size) >= 2 * largest
    resample = Image.Resampling.BOX if box else Image.Resampling.LANCZOS
    shrunk = turned.resize(_fit(turned.width, turned.height, largest), resample)
    turned.close()
    shrunk.info = {"icc_profile": icc} if icc else {}
    return _normalise(shrunk), original


def _encode_original_jpeg(im: Image.Image, icc: bytes | None) -> bytes:
    im.info = {}  # Pillow writes some info keys back (the upload's comment): only the colour profile is passed on
    buf = io.BytesIO()
    kwargs = {"icc_profile": icc} if icc else {}
    im.save(buf, "JPEG", quality=JPEG_QUALITY, optimize=JPEG_OPTIMIZE, exif=b"", **kwargs)
    return buf.getvalue()
