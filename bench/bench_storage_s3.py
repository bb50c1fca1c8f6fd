"""Upload throughput of ``S3Storage.put_stream`` vs boto3 ``upload_fileobj`` against moto on loopback.

Usage: ``python bench/bench_storage_s3.py [--mb 100] [--runs 3]``. Not a test: it prints figures.
The moto server runs in this process (a thread), so both figures include moto's own cost and the GIL;
compare the ratio rather than the absolute MB/s.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

# Fake credentials for the local moto endpoint only; set before boto3 reads the environment.
for _name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    os.environ.pop(_name, None)
os.environ.update(
    AWS_ACCESS_KEY_ID="bench",
    AWS_SECRET_ACCESS_KEY="bench",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_EC2_METADATA_DISABLED="true",
)

from boto3.s3.transfer import TransferConfig
from moto.server import ThreadedMotoServer

from telemed.storage import storage_from_url
from telemed.storage.s3 import S3Storage

MiB = 1024 * 1024


def make_file(path: Path, size: int) -> None:
    with path.open("wb") as f:
        left = size
        while left:
            n = min(MiB, left)
            f.write(os.urandom(n))
            left -= n


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="file size in MiB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # moto's per-request access log

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        storage = storage_from_url(
            f"s3://bench-{uuid.uuid4().hex[:8]}/up", endpoint_url=f"http://{host}:{port}"
        )
        assert isinstance(storage, S3Storage)
        storage.ensure_bucket()
        size = args.mb * MiB
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "data.bin"
            make_file(path, size)
            ours, direct, serial = [], [], []
            for run in range(args.runs):

                def put() -> None:
                    with path.open("rb") as f:
                        obj = storage.put_stream(f, content_type="application/octet-stream", max_size=size)
                    storage.delete(obj.key)

                def upload(config: TransferConfig | None = None, run: int = run) -> None:
                    key = f"direct/{run}"
                    with path.open("rb") as f:
                        storage.client.upload_fileobj(f, storage.bucket, key, Config=config)
                    storage.client.delete_object(Bucket=storage.bucket, Key=key)

                ours.append(timed(put))
                direct.append(timed(upload))
                serial.append(timed(lambda: upload(TransferConfig(use_threads=False))))
        mb = size / MiB
        ours_mbs, direct_mbs = mb / statistics.median(ours), mb / statistics.median(direct)
        serial_mbs = mb / statistics.median(serial)
        print(f"file: {args.mb} MiB, runs: {args.runs} (median), endpoint: moto {host}:{port}")
        print(f"S3Storage.put_stream (8 MiB parts, sequential, sha256): {ours_mbs:8.1f} MiB/s")
        print(f"boto3 upload_fileobj (default TransferConfig):          {direct_mbs:8.1f} MiB/s")
        print(f"boto3 upload_fileobj (use_threads=False):               {serial_mbs:8.1f} MiB/s")
        print(
            f"ratio put_stream / upload_fileobj: {ours_mbs / direct_mbs:.2f}"
            f" (vs single-threaded upload_fileobj: {ours_mbs / serial_mbs:.2f})"
        )
    finally:
        server.stop()


if __name__ == "__main__":
    main()
