"""MEDIA_STORAGE switches the default storage; checked in a fresh interpreter, as a deployment would start."""

import os
import subprocess
import sys
from pathlib import Path

DJANGO_DIR = Path(__file__).resolve().parents[3]

PROBE = """
import django
django.setup()
from django.core.files.storage import default_storage
default_storage._setup()
backend = default_storage._wrapped
print(
    type(backend).__name__,
    getattr(backend, "bucket_name", "-"),
    getattr(backend, "endpoint_url", "-"),
    getattr(backend, "file_overwrite", "-"),
)
"""


def probe(**env) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=DJANGO_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", **env},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.split()


def test_local_storage_by_default():
    assert probe(MEDIA_STORAGE="local")[0] == "FileSystemStorage"


def test_s3_storage_for_minio():
    name, bucket, endpoint, overwrite = probe(
        MEDIA_STORAGE="s3",
        AWS_STORAGE_BUCKET_NAME="socialnet-media",
        AWS_S3_ENDPOINT_URL="http://127.0.0.1:9000",
        AWS_ACCESS_KEY_ID="minio",
        AWS_SECRET_ACCESS_KEY="minio-secret",
    )
    assert (name, bucket, endpoint, overwrite) == ("S3Storage", "socialnet-media", "http://127.0.0.1:9000", "True")


def test_unknown_storage_refuses_to_start():
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"],
        cwd=DJANGO_DIR,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "MEDIA_STORAGE": "ftp"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert "MEDIA_STORAGE" in result.stderr
