"""Thumbnail benchmark: the project's image pipeline against a naive Pillow full-decode + resize.

    .venv/bin/python bench/thumbnails.py                 # 8 generated 12-megapixel JPEGs, upright and rotated
    .venv/bin/python bench/thumbnails.py --count 20 --megapixels 24

Both sides produce the same outputs from each JPEG, with the same encoder settings: a metadata-free original,
WebP variants of 1440, 720 and 320 px on the long side, and a blurhash. Only the way of getting there differs.

- pipeline: `apps.images.processing.render_image`, exactly what the media worker runs (JPEG decode at the smallest
  DCT scale that covers the largest variant, 3/8 for 12 MP, each smaller variant box-reduced then Lanczos-resized
  from the previous one, lossless metadata strip
  of the original when no rotation is needed; when one is, one full-size decode and turn for the original and
  the variants shrunk from it by an integer reduction first).
- naive: `Image.open().load()` at full size, `exif_transpose`, re-encode the original, then each variant resized
  from the full-size image.

Each side runs in a fresh child process so its peak memory (max RSS) is its own, with the worker's Pillow memory
setting (`reuse_bitmap_memory()`: freed bitmap blocks kept for the next image) on both sides. Rates are
wall-clock; the CPU seconds per image are printed too, with the load average before and after, because on a
shared machine the wall-clock ratio moves with whatever else runs while the CPU ratio moves much less. Two data
sets: "upright" (EXIF orientation 1) and "rotated" (orientation 6, as many phones write), because a rotated
original has to be decoded and re-encoded at full size by the pipeline too.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "api" / "socialnet"))

MAX_PIXELS = 40_000_000


def _progress(label: str, done: int, total: int) -> None:
    width = 30
    filled = int(width * done / total)
    sys.stderr.write(f"\r{label:<28} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def generate(directory: Path, *, count: int, megapixels: float, orientation: int, seed: int) -> list[Path]:
    """Photo-like JPEGs: smooth gradients plus sensor-like noise, so they compress like real photos (3-6 MB)."""
    from PIL import ExifTags, Image, ImageFilter

    rng = random.Random(seed)
    width = int(math.sqrt(megapixels * 1_000_000 * 4 / 3))
    height = int(width * 3 / 4)
    paths = []
    for i in range(count):
        small = Image.new("RGB", (8, 6))
        small.putdata([tuple(rng.randrange(256) for _ in range(3)) for _ in range(48)])
        base = small.resize((width, height), Image.Resampling.BICUBIC)
        noise = Image.effect_noise((width, height), 24).convert("RGB")
        photo = Image.blend(base, noise, 0.18).filter(ImageFilter.SMOOTH)
        exif = Image.Exif()
        exif[ExifTags.Base.Make] = "BenchCam"
        exif[ExifTags.Base.Orientation] = orientation
        gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps[ExifTags.GPS.GPSLatitude] = (48.0, 51.0, 24.0)
        path = directory / f"photo-{orientation}-{i:03d}.jpg"
        photo.save(path, "JPEG", quality=92, exif=exif.tobytes())
        paths.append(path)
        _progress(f"generating ({'upright' if orientation == 1 else 'rotated'})", i + 1, count)
    return paths


# --- the two contenders ---------------------------------------------------------------------------------------


def run_pipeline(data: bytes) -> int:
    from apps.images.processing import render_image

    result = render_image(data, "jpeg", max_pixels=MAX_PIXELS)
    return len(result.original) + sum(len(v) for v in result.variants.values())


def run_naive(data: bytes) -> int:
    from PIL import Image, ImageOps

    from apps.images.placeholders import blurhash_encode
    from apps.images.processing import JPEG_OPTIMIZE, JPEG_QUALITY, VARIANTS, WEBP_METHOD, WEBP_QUALITY

    im = Image.open(io.BytesIO(data))
    im.load()
    im = ImageOps.exif_transpose(im)
    im.info = {}
    out = io.BytesIO()
    im.save(out, "JPEG", quality=JPEG_QUALITY, optimize=JPEG_OPTIMIZE)
    total = out.tell()
    smallest = im
    for _name, bound in VARIANTS:
        scale = min(1.0, bound / max(im.size))
        size = (max(1, round(im.width * scale)), max(1, round(im.height * scale)))
        variant = im.resize(size, Image.Resampling.LANCZOS)
        buf = io.BytesIO()
        variant.save(buf, "WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD)
        total += buf.tell()
        smallest = variant
    blurhash_encode(smallest)
    return total


def peak_rss_kb() -> int:
    """This process's peak resident memory. VmHWM, not ru_maxrss: the latter survives exec() on Linux, so a
    child would report the parent's peak (here: the generator's)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(mode: str, paths: list[str]) -> None:
    """Runs in its own process: warm up on the first file, then time every file; report JSON on stdout."""
    from apps.images.processing import reuse_bitmap_memory

    # Both sides run with the media worker's process-wide Pillow memory setting (freed bitmap blocks are kept for
    # the next image, as apps.images' ready() sets it), so the ratio compares the image work alone.
    reuse_bitmap_memory()
    fn = run_pipeline if mode == "pipeline" else run_naive
    blobs = [Path(p).read_bytes() for p in paths]
    fn(blobs[0])  # imports, codec initialisation
    baseline = peak_rss_kb()
    started, cpu_started = time.perf_counter(), time.process_time()
    for i, blob in enumerate(blobs):
        fn(blob)
        _progress(f"  {mode}", i + 1, len(blobs))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    peak = peak_rss_kb()
    print(json.dumps({"seconds": elapsed, "cpu": cpu, "images": len(blobs), "peak_kb": peak, "baseline_kb": baseline}))


def measure(mode: str, paths: list[Path]) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", mode, *map(str, paths)],
        check=True,
        capture_output=False,
        stdout=subprocess.PIPE,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=8, help="JPEGs per data set (default 8)")
    parser.add_argument("--megapixels", type=float, default=12.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--repeat", type=int, default=3, help="runs per side, best kept (default 3)")
    parser.add_argument("--only", choices=["upright", "rotated"], help="run one data set only")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.child[1:])
        return

    sets = [("upright", 1), ("rotated", 6)]
    if args.only:
        sets = [s for s in sets if s[0] == args.only]
    rows = []
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="thumbbench-") as tmp:
        for label, orientation in sets:
            paths = generate(
                Path(tmp), count=args.count, megapixels=args.megapixels, orientation=orientation, seed=args.seed
            )
            size_mb = sum(p.stat().st_size for p in paths) / len(paths) / 1e6
            # Alternate the sides and keep each one's best run: the machine is shared, and a best-of-N is the
            # figure least disturbed by whatever else runs at the time.
            runs: dict[str, list[dict]] = {"pipeline": [], "naive": []}
            for _ in range(args.repeat):
                for mode in runs:
                    runs[mode].append(measure(mode, paths))
            results = {mode: min(r, key=lambda x: x["seconds"]) for mode, r in runs.items()}
            cpu = {mode: min(x["cpu"] for x in r) for mode, r in runs.items()}
            rows.append((label, size_mb, results, cpu))

    load_after = os.getloadavg()
    print(f"\n{args.count} JPEGs of {args.megapixels:g} MP per data set, Python {sys.version.split()[0]}, ", end="")
    print(f"{os.cpu_count()} CPU(s), one process per side, best of {args.repeat}")
    # The machine may be shared: wall-clock rates move with other work, CPU seconds per image much less, so the
    # ratio is printed both ways, with the load average next to it.
    print(f"load average (1/5/15 min): {_load(load_before)} before, {_load(load_after)} after")
    header = f"{'data set':<9} {'avg size':>8}  {'pipeline img/s':>14} {'naive img/s':>11} {'ratio':>6}"
    header += f"  {'CPU ms/img pipeline':>19} {'naive':>6} {'CPU ratio':>9}  {'peak RSS pipeline':>17} {'naive':>6}"
    print(header)
    for label, size_mb, res, cpu in rows:
        rate = {m: r["images"] / r["seconds"] for m, r in res.items()}
        per_image = {m: 1000 * c / res[m]["images"] for m, c in cpu.items()}
        print(
            f"{label:<9} {size_mb:>6.1f}MB  {rate['pipeline']:>14.2f} {rate['naive']:>11.2f} "
            f"{rate['pipeline'] / rate['naive']:>5.1f}x  {per_image['pipeline']:>19.0f} {per_image['naive']:>6.0f} "
            f"{per_image['naive'] / per_image['pipeline']:>8.1f}x  {res['pipeline']['peak_kb'] / 1024:>15.0f}MB "
            f"{res['naive']['peak_kb'] / 1024:>4.0f}MB"
        )


def _load(avg: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in avg)


if __name__ == "__main__":
    main()
