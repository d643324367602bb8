"""The pure image pipeline: upload inspection and rendering, on real files generated with Pillow."""

import io

import pytest
from PIL import Image

from apps.images import processing
from apps.images.placeholders import blurhash_encode
from apps.images.processing import ImageRejected, ImageRenderError, inspect_upload, render_image

from . import samples

MAX_PIXELS = 40_000_000


def _open(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (samples.jpeg_bytes(), "jpeg"),
        (samples.png_with_alpha(), "png"),
        (samples.animated_gif(), "gif"),
        (samples.webp_bytes(), "webp"),
    ],
)
def test_accepted_formats_are_detected_by_content(data, fmt):
    info = inspect_upload(data, max_pixels=MAX_PIXELS)
    assert info.format == fmt


@pytest.mark.parametrize(
    "data",
    [
        b"<html><body>hello</body></html>",
        b"just some text, named photo.jpg",
        b"%PDF-1.7\n1 0 obj\n",
        b"PK\x03\x04" + b"\x00" * 40,
        b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>",
    ],
)
def test_non_images_are_unsupported_media(data):
    with pytest.raises(ImageRejected) as exc:
        inspect_upload(data, max_pixels=MAX_PIXELS)
    assert exc.value.status == 415
    assert "JPEG, PNG, WebP, GIF" in exc.value.message


def test_empty_file_is_rejected():
    with pytest.raises(ImageRejected) as exc:
        inspect_upload(b"", max_pixels=MAX_PIXELS)
    assert exc.value.status == 400
    assert "empty" in exc.value.message


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_truncated_jpeg_is_rejected(cut):
    data = samples.jpeg_bytes(samples.two_tone(400, 300))
    with pytest.raises(ImageRejected) as exc:
        inspect_upload(data[: int(len(data) * cut)], max_pixels=MAX_PIXELS)
    assert exc.value.status == 400
    assert "truncated" in exc.value.message


def test_truncated_png_and_gif_are_rejected():
    for data in (samples.png_with_alpha(), samples.animated_gif()):
        with pytest.raises(ImageRejected) as exc:
            inspect_upload(data[:-20], max_pixels=MAX_PIXELS)
        assert exc.value.status == 400


@pytest.mark.parametrize(
    "data",
    [
        samples.png_declaring(50_000, 50_000),
        samples.png_declaring(10_000, 4_001),
        samples.gif_declaring(65_535, 65_535),
    ],
)
def test_huge_declared_dimensions_are_refused_before_decoding(data):
    assert len(data) < 10_000  # a bomb: tiny file, enormous bitmap
    with pytest.raises(ImageRejected) as exc:
        inspect_upload(data, max_pixels=MAX_PIXELS)
    assert exc.value.status == 413
    assert "megapixels" in exc.value.message or "too large" in exc.value.message


def test_pixel_limit_follows_the_setting():
    data = samples.png_bytes(Image.new("RGB", (200, 100)))
    assert inspect_upload(data, max_pixels=20_000).width == 200
    with pytest.raises(ImageRejected):
        inspect_upload(data, max_pixels=19_999)


@pytest.mark.parametrize(
    "suffix",
    [
        b"PK\x03\x04\x14\x00\x00\x00" + b"zipped payload" * 10,  # JPEG + ZIP (a GIFAR-style polyglot)
        b"<script>alert(document.cookie)</script>",
    ],
)
def test_polyglots_with_data_after_the_image_are_rejected(suffix):
    for data in (samples.jpeg_bytes(), samples.png_with_alpha(), samples.animated_gif(), samples.webp_bytes()):
        with pytest.raises(ImageRejected) as exc:
            inspect_upload(data + suffix, max_pixels=MAX_PIXELS)
        assert exc.value.status == 400


def test_markup_hidden_in_a_jpeg_comment_is_rejected():
    data = samples.jpeg_bytes(comment=b"<html><script>alert(1)</script></html>")
    with pytest.raises(ImageRejected) as exc:
        inspect_upload(data, max_pixels=MAX_PIXELS)
    assert "markup" in exc.value.message


def test_a_phone_style_jpeg_with_a_second_embedded_jpeg_after_it_is_accepted():
    data = samples.jpeg_bytes() + samples.jpeg_bytes(samples.two_tone(8, 8))
    assert inspect_upload(data, max_pixels=MAX_PIXELS).format == "jpeg"


# --- rendering ------------------------------------------------------------------------------------------------


def test_jpeg_with_gps_and_orientation_6_is_served_upright_without_metadata():
    data = samples.jpeg_with_gps(orientation=6, width=60, height=40)
    assert b"PhoneMaker" in data and Image.open(io.BytesIO(data)).getexif()[0x0112] == 6

    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)

    assert (result.width, result.height) == (40, 60)  # turned to portrait
    for payload in [result.original, *result.variants.values()]:
        samples.assert_no_metadata(payload)
        im = _open(payload)
        assert im.size == (40, 60)
        # The stored image's left (red) half is the top once turned 90° clockwise.
        assert samples.is_reddish(im.convert("RGB").getpixel((20, 5)))
        assert samples.is_bluish(im.convert("RGB").getpixel((20, 55)))
    assert result.original_ext == "jpg"
    assert {name: _open(v).format for name, v in result.variants.items()} == dict.fromkeys(
        ("large", "medium", "small"), "WEBP"
    )


def test_turned_jpeg_original_keeps_its_colour_profile_and_variants_are_srgb():
    from PIL import ImageCms

    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    data = samples.jpeg_bytes(
        samples.two_tone(60, 40), exif=samples.gps_exif(orientation=8), icc_profile=icc, comment=b"secret comment"
    )

    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)

    original = _open(result.original)
    samples.assert_no_metadata(result.original)
    assert original.size == (40, 60)
    # Turned 90° counter-clockwise: the stored image's left (red) half ends up at the bottom.
    assert samples.is_bluish(original.convert("RGB").getpixel((20, 5)))
    assert samples.is_reddish(original.convert("RGB").getpixel((20, 55)))
    assert original.info.get("icc_profile") == icc  # pixels untouched by colour management, so the profile stays
    for payload in result.variants.values():
        assert "icc_profile" not in _open(payload).info  # converted to sRGB


@pytest.mark.parametrize(("width", "height"), [(2000, 1600), (3200, 1800)])
def test_turned_jpeg_variants_from_both_shrink_filters(width, height):
    # Under twice the largest variant (2000 px) Lanczos shrinks the turned image, from twice up (3200 px) a box.
    data = samples.jpeg_with_gps(orientation=8, width=width, height=height)

    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)

    assert (result.width, result.height) == (height, width)
    assert _open(result.original).size == (height, width)
    large = _open(result.variants["large"]).convert("RGB")
    assert large.size == (round(height * 1440 / width), 1440)
    # Turned 90° counter-clockwise: the stored image's left (red) half ends up at the bottom.
    assert samples.is_bluish(large.getpixel((large.width // 2, 10)))
    assert samples.is_reddish(large.getpixel((large.width // 2, 1430)))
    for payload in [result.original, *result.variants.values()]:
        samples.assert_no_metadata(payload)


def test_upright_jpeg_original_is_cleaned_losslessly():
    data = samples.jpeg_with_gps(orientation=1, width=64, height=48)
    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)
    samples.assert_no_metadata(result.original)
    # Byte-level cleaning: the pixels decode exactly as the upload's did.
    assert _open(result.original).tobytes() == _open(data).tobytes()
    assert len(result.original) < len(data)


def test_variants_are_bounded_on_the_long_side_and_keep_the_aspect_ratio():
    data = samples.jpeg_bytes(samples.two_tone(3000, 2000))
    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)
    sizes = {name: _open(payload).size for name, payload in result.variants.items()}
    assert sizes == {"large": (1440, 960), "medium": (720, 480), "small": (320, 213)}
    assert (result.width, result.height) == (3000, 2000)
    assert _open(result.original).size == (3000, 2000)


def test_a_12_megapixel_upright_jpeg_decodes_at_three_eighths_scale():
    # 4000 px at 1/4 would be too small for the 1440 px variant: Pillow's draft() alone decodes at 1/2 (2000 px);
    # libjpeg-turbo's 3/8 scale gives 1500 px, so Lanczos has less to shrink.
    data = samples.jpeg_bytes(samples.two_tone(4000, 3000))
    im = Image.open(io.BytesIO(data))
    processing._jpeg_draft(im, 1440)
    im.load()
    assert im.size == (1500, 1125)
    assert samples.is_reddish(im.getpixel((10, 560))) and samples.is_reddish(im.getpixel((740, 560)))
    assert samples.is_bluish(im.getpixel((760, 560))) and samples.is_bluish(im.getpixel((1490, 1120)))

    result = render_image(
        samples.jpeg_bytes(samples.two_tone(4000, 3000), exif=samples.gps_exif(orientation=1)),
        "jpeg",
        max_pixels=MAX_PIXELS,
    )
    sizes = {name: _open(payload).size for name, payload in result.variants.items()}
    assert sizes == {"large": (1440, 1080), "medium": (720, 540), "small": (320, 240)}
    for payload in [result.original, *result.variants.values()]:
        samples.assert_no_metadata(payload)
    large = _open(result.variants["large"]).convert("RGB")
    assert samples.is_reddish(large.getpixel((700, 540))) and samples.is_bluish(large.getpixel((740, 540)))


@pytest.mark.parametrize(("mode", "colour"), [("L", 90), ("CMYK", (0, 200, 200, 0))])
def test_grey_and_cmyk_jpegs_decode_at_three_eighths_too(mode, colour):
    data = samples.jpeg_bytes(Image.new(mode, (4000, 3000), colour), progressive=True)
    im = Image.open(io.BytesIO(data))
    processing._jpeg_draft(im, 1440)
    im.load()
    assert (im.mode, im.size) == (mode, (1500, 1125))
    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)
    assert _open(result.variants["large"]).size == (1440, 1080)


@pytest.mark.parametrize(("width", "height", "decoded"), [(3000, 2000, (1500, 1000)), (6000, 4000, (1500, 1000))])
def test_jpeg_draft_keeps_pillow_scales_where_three_eighths_does_not_pay(width, height, decoded):
    # 3000 px at 3/8 (1125 px) would be smaller than the largest variant: 1/2. 6000 px: 1/4 is already enough.
    im = Image.open(io.BytesIO(samples.jpeg_bytes(samples.two_tone(width, height))))
    processing._jpeg_draft(im, 1440)
    im.load()
    assert im.size == decoded


def test_a_turned_12_megapixel_jpeg_original_is_full_size_upright_and_clean():
    data = samples.jpeg_with_gps(orientation=6, width=4000, height=3000)

    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)

    assert (result.width, result.height) == (3000, 4000)
    original = _open(result.original)
    assert original.format == "JPEG" and original.size == (3000, 4000)
    samples.assert_no_metadata(result.original)
    # Turned 90° clockwise: the stored image's left (red) half is the top.
    assert samples.is_reddish(original.getpixel((1500, 100))) and samples.is_bluish(original.getpixel((1500, 3900)))
    sizes = {name: _open(payload).size for name, payload in result.variants.items()}
    assert sizes == {"large": (1080, 1440), "medium": (540, 720), "small": (240, 320)}
    for payload in result.variants.values():
        samples.assert_no_metadata(payload)
        im = _open(payload).convert("RGB")
        assert samples.is_reddish(im.getpixel((im.width // 2, 2))) and samples.is_bluish(
            im.getpixel((im.width // 2, im.height - 3))
        )


def test_portrait_png_variants_bound_the_height():
    data = samples.png_bytes(samples.two_tone(500, 1000))
    result = render_image(data, "png", max_pixels=MAX_PIXELS)
    sizes = {name: _open(payload).size for name, payload in result.variants.items()}
    assert sizes == {"large": (500, 1000), "medium": (360, 720), "small": (160, 320)}


def test_small_images_are_never_upscaled():
    data = samples.jpeg_bytes(samples.two_tone(200, 100))
    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)
    assert {_open(payload).size for payload in result.variants.values()} == {(200, 100)}


def test_one_by_one_pixel_image():
    data = samples.png_bytes(Image.new("RGB", (1, 1), (10, 200, 10)))
    assert inspect_upload(data, max_pixels=MAX_PIXELS).width == 1
    result = render_image(data, "png", max_pixels=MAX_PIXELS)
    assert (result.width, result.height) == (1, 1)
    assert {_open(payload).size for payload in result.variants.values()} == {(1, 1)}
    assert len(result.blurhash) == 28


def test_png_alpha_is_kept_in_variants_and_original():
    result = render_image(samples.png_with_alpha(40, 30), "png", max_pixels=MAX_PIXELS)
    for payload in [result.original, *result.variants.values()]:
        im = _open(payload).convert("RGBA")
        assert im.getpixel((5, 15))[3] == 255
        assert samples.is_reddish(im.getpixel((5, 15)))
        assert im.getpixel((35, 15))[3] == 0
    assert result.original_ext == "png"


def test_animated_gif_uses_its_first_frame():
    data = samples.animated_gif()
    assert Image.open(io.BytesIO(data)).n_frames == 3
    result = render_image(data, "gif", max_pixels=MAX_PIXELS)
    for payload in [result.original, *result.variants.values()]:
        im = _open(payload)
        assert getattr(im, "n_frames", 1) == 1
        assert samples.is_reddish(im.convert("RGB").getpixel((15, 10)))
    assert result.original_ext == "png"


def test_webp_upload():
    result = render_image(samples.webp_bytes(50, 50), "webp", max_pixels=MAX_PIXELS)
    assert result.original_ext == "webp"
    assert _open(result.original).format == "WEBP"


@pytest.mark.skipif(not processing.HEIC_SUPPORTED, reason="pillow-heif is not installed")
def test_heic_upload_is_accepted_and_served_as_jpeg():
    data = samples.heic_bytes()
    assert inspect_upload(data, max_pixels=MAX_PIXELS).format == "heic"
    result = render_image(data, "heic", max_pixels=MAX_PIXELS)
    assert result.original_ext == "jpg"
    assert _open(result.original).format == "JPEG"
    assert (result.width, result.height) == (64, 48)
    samples.assert_no_metadata(result.original)


def test_rendering_is_deterministic():
    data = samples.jpeg_with_gps(orientation=3, width=120, height=90)
    first, second = render_image(data, "jpeg", max_pixels=MAX_PIXELS), render_image(data, "jpeg", max_pixels=MAX_PIXELS)
    assert first.original == second.original
    assert first.variants == second.variants
    assert first.blurhash == second.blurhash


def test_undecodable_pixel_data_is_a_render_error():
    data = bytearray(samples.jpeg_bytes(samples.two_tone(64, 64)))
    sos = data.index(b"\xff\xda")
    data[sos - 300 : sos] = b"\x00" * 300  # wreck the quantisation/Huffman tables
    with pytest.raises(ImageRenderError):
        render_image(bytes(data), "jpeg", max_pixels=MAX_PIXELS)


def test_render_refuses_images_over_the_pixel_limit():
    data = samples.png_bytes(Image.new("L", (300, 300)))
    with pytest.raises(ImageRenderError):
        render_image(data, "png", max_pixels=10_000)


# --- blurhash ------------------------------------------------------------------------------------------------


def test_blurhash_of_a_flat_colour_is_its_dc_term():
    # The DC term (characters 2..5) is the average colour itself, in the specification's base-83 encoding;
    # the first character encodes the 4x3 components.
    result = blurhash_encode(Image.new("RGB", (20, 10), (255, 0, 0)))
    assert result[0] == "L"
    assert result[2:6] == processing_base83(0xFF0000, 4)
    assert len(result) == 28


def processing_base83(value: int, length: int) -> str:
    chars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
    return "".join(chars[(value // 83 ** (length - i)) % 83] for i in range(1, length + 1))


def test_blurhash_matches_the_reference_encoder_on_a_known_image():
    # Value produced by the reference Python implementation (`blurhash` 1.1.5) for this exact input.
    im = Image.new("RGB", (4, 2))
    im.putdata(
        [
            (255, 0, 0),
            (0, 255, 0),
            (0, 0, 255),
            (255, 255, 255),
            (0, 0, 0),
            (128, 128, 128),
            (10, 20, 30),
            (200, 100, 50),
        ]
    )
    assert blurhash_encode(im) == "L~IXmok5,9|5~qsP,S]E?v#i,l]r"


def _app0(payload: bytes) -> bytes:
    return b"\xff\xe0" + (len(payload) + 2).to_bytes(2, "big") + payload


def test_jpeg_fast_path_keeps_only_the_fixed_jfif_fields_of_app0():
    clean = samples.jpeg_bytes()
    assert clean[2:4] == b"\xff\xe0"  # Pillow writes a JFIF APP0 first: replace it with crafted ones
    rest = clean[4 + int.from_bytes(clean[4:6], "big") :]
    jfif_with_thumbnail = b"JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x01\x01" + b"SEC" + b"GPS:hidden-in-jfif"
    data = (
        b"\xff\xd8"
        + _app0(jfif_with_thumbnail)
        + _app0(b"GPS:48.8584,2.2945 Rue de l'Universite")
        + _app0(b"JFXX\x00\x10" + b"\xff\xd8 a thumbnail JPEG with its own EXIF")
        + rest
    )
    inspect_upload(data, max_pixels=MAX_PIXELS)  # a valid upload

    original = render_image(data, "jpeg", max_pixels=MAX_PIXELS).original

    for leaked in (b"GPS", b"SEC", b"JFXX", b"Universite", b"thumbnail"):
        assert leaked not in original
    # One APP0 left: JFIF's fixed fields (version 1.2, 72 dpi) and a 0 x 0 thumbnail, 16 bytes long.
    assert original[2:20] == b"\xff\xe0\x00\x10JFIF\x00\x01\x02\x01\x00\x48\x00\x48\x00\x00"
    assert original.count(b"\xff\xe0") == 1
    assert _open(original).tobytes() == _open(clean).tobytes()  # pixel data untouched
    assert _open(original).info.get("dpi") == (72, 72)


def test_processes_keep_freed_bitmap_blocks_for_the_next_image():
    # Set by the images app at start-up (what the media worker runs): without it every photo faults its bitmaps in.
    assert Image.core.get_block_size() == processing.BITMAP_BLOCK_SIZE
    assert Image.core.get_blocks_max() == processing.BITMAP_CACHE_BLOCKS
