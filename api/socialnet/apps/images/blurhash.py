"""BlurHash encoder (https://blurha.sh), pure Python.

Written here rather than taken from a package: the algorithm is ~60 lines, the maintained Python packages either
pull in numpy or a native extension, and we only ever encode a tiny (≤ 32 px) thumbnail, where a plain loop over
precomputed cosine tables costs about a millisecond.
"""

from __future__ import annotations

import math

from PIL import Image

_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
# The encoder's input is downscaled to this long side first: more pixels change the hash only imperceptibly.
SAMPLE_SIZE = 32


def _base83(value: int, length: int) -> str:
    return "".join(_BASE83[(value // 83 ** (length - i)) % 83] for i in range(1, length + 1))


def _srgb_to_linear(value: int) -> float:
    v = value / 255.0
    return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4


def _linear_to_srgb(value: float) -> int:
    v = max(0.0, min(1.0, value))
    if v <= 0.0031308:
        return int(v * 12.92 * 255 + 0.5)
    return int((1.055 * v ** (1 / 2.4) - 0.055) * 255 + 0.5)


def _sign_pow(value: float, exp: float) -> float:
    return math.copysign(abs(value) ** exp, value)


_LINEAR = [_srgb_to_linear(i) for i in range(256)]


def blurhash_encode(image: Image.Image, *, x_components: int = 4, y_components: int = 3) -> str:
    """BlurHash of `image` (any mode; transparency is composited over white, as most clients show it)."""
    if not (1 <= x_components <= 9 and 1 <= y_components <= 9):
        raise ValueError("BlurHash components must be between 1 and 9")
    sample = image.copy()
    if sample.mode in ("RGBA", "LA") or (sample.mode == "P" and "transparency" in sample.info):
        rgba = sample.convert("RGBA")
        sample = Image.new("RGB", rgba.size, (255, 255, 255))
        sample.paste(rgba, mask=rgba.getchannel("A"))
    elif sample.mode != "RGB":
        sample = sample.convert("RGB")
    sample.thumbnail((SAMPLE_SIZE, SAMPLE_SIZE), Image.Resampling.BILINEAR)
    width, height = sample.size
    raw = sample.tobytes()
    pixels = [(_LINEAR[raw[k]], _LINEAR[raw[k + 1]], _LINEAR[raw[k + 2]]) for k in range(0, len(raw), 3)]

    cos_x = [[math.cos(math.pi * i * x / width) for x in range(width)] for i in range(x_components)]
    cos_y = [[math.cos(math.pi * j * y / height) for y in range(height)] for j in range(y_components)]
    factors: list[tuple[float, float, float]] = []
    for j in range(y_components):
        for i in range(x_components):
            normalisation = 1.0 if i == 0 and j == 0 else 2.0
            r = g = b = 0.0
            cx, cy = cos_x[i], cos_y[j]
            for y in range(height):
                row = y * width
                by = cy[y]
                for x in range(width):
                    basis = cx[x] * by
                    pr, pg, pb = pixels[row + x]
                    r += basis * pr
                    g += basis * pg
                    b += basis * pb
            scale = normalisation / (width * height)
            factors.append((r * scale, g * scale, b * scale))

    dc, ac = factors[0], factors[1:]
    result = _base83((x_components - 1) + (y_components - 1) * 9, 1)
    if ac:
        actual_max = max(abs(c) for factor in ac for c in factor)
        quantised_max = max(0, min(82, math.floor(actual_max * 166 - 0.5)))
        max_value = (quantised_max + 1) / 166
        result += _base83(quantised_max, 1)
    else:
        max_value = 1.0
        result += _base83(0, 1)
    result += _base83((_linear_to_srgb(dc[0]) << 16) + (_linear_to_srgb(dc[1]) << 8) + _linear_to_srgb(dc[2]), 4)
    for factor in ac:
        quant = [max(0, min(18, math.floor(_sign_pow(c / max_value, 0.5) * 9 + 9.5))) for c in factor]
        result += _base83(quant[0] * 19 * 19 + quant[1] * 19 + quant[2], 2)
    return result
