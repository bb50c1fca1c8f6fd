"""Upload throughput and server memory of ``POST /api/v1/consultations/{id}/attachments``.

Usage: ``.venv/bin/python bench/bench_upload.py [--mb 100] [--local-mb 150] [--runs 3]`` (about a minute).
Not a test: it prints figures.

* S3: a moto S3 server (``python -m moto.server``) in its own subprocess on 127.0.0.1, fake AWS
  credentials. ``telemed serve`` (another subprocess, SQLite, ``TELEMED_STORAGE_URL=s3://...``,
  ``TELEMED_MAX_UPLOAD_MB=200``) receives a ``--mb`` MiB file starting with ``%PDF-`` as
  ``multipart/form-data`` and streams it to moto. Compared with a direct boto3 ``upload_fileobj``
  of the same file to the same moto endpoint (default ``TransferConfig``: 8 MiB parts, 10 threads;
  ``use_threads=False`` printed as well). Median of ``--runs`` runs, interleaved.
* Memory: the app server process's peak RSS (``VmHWM`` in ``/proc/<pid>/status``) before the first
  upload and after the uploads; then a second ``telemed serve`` on the local-directory backend
  (``file://``) receives one ``--local-mb`` MiB upload, and its ``VmHWM`` increase is printed.

The client streams the request body from the file (fixed ``Content-Length``, 1 MiB writes), so it
never holds the file in memory. MB/s here means MiB/s.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
from bench.servers import ServerProcess, free_port, telemed_serve_argv
from tests.support.pdf import payload_size_for, pdf_around

# Fake credentials for the local moto endpoint only; set before boto3 reads the environment.
FAKE_AWS = {
    "AWS_ACCESS_KEY_ID": "bench",
    "AWS_SECRET_ACCESS_KEY": "bench",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
}
for _name in (
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
):
    os.environ.pop(_name, None)
os.environ.update(FAKE_AWS)

MiB = 1024 * 1024
PASSWORD = "secret-pass"  # tests.support.factories.PASSWORD
REQUEST_TIMEOUT = 120


def make_pdf(path: Path, size: int) -> str:
    """A readable ``size``-byte PDF (one stream of random bytes: uploads check PDFs for scripts);
    returns its sha256."""
    payload = payload_size_for(size)
    head, tail = pdf_around(payload)
    sha = hashlib.sha256()
    with path.open("wb") as f:
        f.write(head)
        sha.update(head)
        left = payload
        while left:
            block = os.urandom(min(MiB, left))
            f.write(block)
            sha.update(block)
            left -= len(block)
        f.write(tail)
        sha.update(tail)
    return sha.hexdigest()


def telemed_env(tmp: Path, storage_url: str, endpoint: str | None) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TELEMED_")}
    env.update(
        TELEMED_INSTANCE_DIR=str(tmp / "instance"),
        TELEMED_DATABASE_URL=f"sqlite:///{tmp}/upload.sqlite3",
        TELEMED_SECRET_KEY="bench",
        TELEMED_PASSWORD_HASH="argon2-fast",
        TELEMED_STORAGE_URL=storage_url,
        TELEMED_MAX_UPLOAD_MB="200",
        TELEMED_LOGIN_RATE_LIMIT="100000 per minute",
    )
    if endpoint:
        env["TELEMED_S3_ENDPOINT_URL"] = endpoint
    return env


def build_world(env: dict) -> int:
    """Migrate (creating the bucket), then a member, a doctor and an open consultation; its id."""
    from telemed import create_app
    from telemed.cli import init_database
    from tests.support.factories import Factory, make_consultation

    app = create_app(
        {
            "INSTANCE_DIR": env["TELEMED_INSTANCE_DIR"],
            "DATABASE_URL": env["TELEMED_DATABASE_URL"],
            "SECRET_KEY": "bench",
            "PASSWORD_HASH": "argon2-fast",
            "STORAGE_URL": env["TELEMED_STORAGE_URL"],
            "S3_ENDPOINT_URL": env.get("TELEMED_S3_ENDPOINT_URL"),
        }
    )
    init_database(app)
    f = Factory(app)
    contract = f.contract()
    member, patient = f.member("upmember", contract=contract)
    doctor = f.doctor("therapist", username="updoctor")
    consultation = make_consultation(f, member, patient, doctor, contract)
    app.extensions["telemed.db"].dispose()
    return consultation.id


def start_telemed(env: dict, log: Path) -> tuple[ServerProcess, int]:
    port = free_port()
    server = ServerProcess("telemed", telemed_serve_argv(port), env, log)

    def healthy() -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        finally:
            conn.close()

    server.wait_ready(healthy)
    return server, port


def login(port: int, username: str) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(
            "POST",
            "/api/v1/auth/token",
            body=json.dumps({"username": username, "password": PASSWORD}),
            headers={"Content-Type": "application/json"},
        )
        resp = conn.getresponse()
        body = resp.read()
        if resp.status != 200:
            raise RuntimeError(f"login failed: {resp.status} {body[:300]!r}")
        return json.loads(body)["token"]
    finally:
        conn.close()


def upload(port: int, token: str, cid: int, path: Path, filename: str = "scan.pdf") -> tuple[float, dict]:
    """Stream ``path`` as multipart field ``file``; (seconds, JSON answer). Memory: one 1 MiB block."""
    boundary = f"bench{uuid.uuid4().hex}"
    pre = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n"
    ).encode()
    post = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=REQUEST_TIMEOUT)
    try:
        started = time.perf_counter()
        conn.putrequest("POST", f"/api/v1/consultations/{cid}/attachments")
        conn.putheader("Authorization", f"Bearer {token}")
        conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
        conn.putheader("Content-Length", str(len(pre) + size + len(post)))
        conn.endheaders()
        conn.send(pre)
        with path.open("rb") as f:
            while block := f.read(MiB):
                conn.send(block)
        conn.send(post)
        resp = conn.getresponse()
        body = resp.read()
        elapsed = time.perf_counter() - started
    finally:
        conn.close()
    if resp.status != 201:
        raise RuntimeError(f"upload failed: {resp.status} {body[:500]!r}")
    return elapsed, json.loads(body)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=100, help="S3 upload size in MiB")
    parser.add_argument("--local-mb", type=int, default=150, help="local-backend upload size in MiB")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    import boto3
    from boto3.s3.transfer import TransferConfig
    from botocore.config import Config

    started = time.monotonic()
    servers: list[ServerProcess] = []
    with tempfile.TemporaryDirectory(prefix="bench-upload-") as tmp_name:
        tmp = Path(tmp_name)
        try:
            # -- moto, in its own process
            moto_port = free_port()
            endpoint = f"http://127.0.0.1:{moto_port}"
            moto = ServerProcess(
                "moto",
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(moto_port)],
                dict(os.environ),
                tmp / "moto.log",
            )
            servers.append(moto)
            s3 = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint,
                region_name="us-east-1",
                config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
            )
            moto.wait_ready(lambda: s3.list_buckets() is not None)
            bucket = f"bench-{uuid.uuid4().hex[:8]}"

            # -- the files
            t0 = time.monotonic()
            pdf = tmp / "upload.pdf"
            pdf_sha = make_pdf(pdf, args.mb * MiB)
            big = tmp / "big.pdf"
            big_sha = make_pdf(big, args.local_mb * MiB)
            print(
                f"files: {args.mb} MiB and {args.local_mb} MiB starting with %PDF- "
                f"(written in {time.monotonic() - t0:.1f} s)",
                flush=True,
            )

            # -- telemed on S3
            env = telemed_env(tmp, f"s3://{bucket}/uploads", endpoint)
            cid = build_world(env)
            app_server, port = start_telemed(env, tmp / "telemed-s3.log")
            servers.append(app_server)
            token = login(port, "upmember")
            hwm_before = app_server.status_kb("VmHWM")
            rss_before = app_server.status_kb("VmRSS")

            ours, direct, serial = [], [], []
            cpu: dict[str, list[float]] = {
                "telemed": [],
                "moto (telemed)": [],
                "moto (direct)": [],
                "client (direct)": [],
            }
            hwm_after_first = None
            for run in range(args.runs):
                c_app, c_moto = app_server.cpu_seconds(), moto.cpu_seconds()
                seconds, answer = upload(port, token, cid, pdf)
                if answer["size"] != args.mb * MiB or answer["sha256"] != pdf_sha:
                    raise RuntimeError(f"stored object differs: {answer}")
                ours.append(seconds)
                cpu["telemed"].append(app_server.cpu_seconds() - c_app)
                cpu["moto (telemed)"].append(moto.cpu_seconds() - c_moto)
                for obj in s3.list_objects_v2(Bucket=bucket, Prefix="uploads/").get("Contents", []):
                    s3.delete_object(Bucket=bucket, Key=obj["Key"])  # keep moto's memory the same each run
                if hwm_after_first is None:
                    hwm_after_first = app_server.status_kb("VmHWM")
                for label, config, out in (
                    ("default", None, direct),
                    ("serial", TransferConfig(use_threads=False), serial),
                ):
                    key = f"direct/{run}-{label}"
                    with pdf.open("rb") as f:
                        c_moto, c_me = moto.cpu_seconds(), time.process_time()
                        t = time.perf_counter()
                        s3.upload_fileobj(f, bucket, key, Config=config)
                        out.append(time.perf_counter() - t)
                        if config is None:
                            cpu["moto (direct)"].append(moto.cpu_seconds() - c_moto)
                            cpu["client (direct)"].append(time.process_time() - c_me)
                    s3.delete_object(Bucket=bucket, Key=key)
                print(
                    f"run {run + 1}: telemed {args.mb / ours[-1]:6.1f} MiB/s, upload_fileobj "
                    f"{args.mb / direct[-1]:6.1f} MiB/s, upload_fileobj(use_threads=False) "
                    f"{args.mb / serial[-1]:6.1f} MiB/s",
                    flush=True,
                )
            hwm_after = app_server.status_kb("VmHWM")
            rss_after = app_server.status_kb("VmRSS")
            app_server.stop()

            # -- telemed on the local-directory backend, same database
            local_env = telemed_env(tmp, (tmp / "storage").as_uri(), None)
            local_server, local_port = start_telemed(local_env, tmp / "telemed-local.log")
            servers.append(local_server)
            local_token = login(local_port, "upmember")
            local_before = local_server.status_kb("VmHWM")
            local_seconds, answer = upload(local_port, local_token, cid, big)
            if answer["size"] != args.local_mb * MiB or answer["sha256"] != big_sha:
                raise RuntimeError(f"stored file differs: {answer}")
            local_after = local_server.status_kb("VmHWM")
            local_server.stop()
        except BaseException:
            for s in servers:
                if s.proc.poll() is not None or s.name != "moto":
                    print(f"--- {s.name} log tail:\n{s.log_tail()}", file=sys.stderr)
            raise
        finally:
            for s in servers:
                s.stop()

    ours_mbs = args.mb / statistics.median(ours)
    direct_mbs = args.mb / statistics.median(direct)
    serial_mbs = args.mb / statistics.median(serial)
    ratio = ours_mbs / direct_mbs
    increase = (local_after - local_before) / 1024
    print()
    print(
        f"== upload benchmark: {args.mb} MiB to moto S3 on 127.0.0.1, median of {args.runs} runs; "
        f"load average {os.getloadavg()[0]:.2f} =="
    )
    print(f"telemed POST /attachments -> S3:            {ours_mbs:7.1f} MiB/s")
    print(f"boto3 upload_fileobj (default config):      {direct_mbs:7.1f} MiB/s")
    print(f"boto3 upload_fileobj (use_threads=False):   {serial_mbs:7.1f} MiB/s")
    print(
        f"ratio telemed / upload_fileobj:             {ratio:7.2f}  (goal >= 0.80: {'met' if ratio >= 0.8 else 'NOT met'})"
        f"   vs single-threaded upload_fileobj: {ours_mbs / serial_mbs:.2f}"
    )
    print(
        "CPU seconds per upload (median): "
        + ", ".join(f"{k} {statistics.median(v):.2f}" for k, v in cpu.items())
    )
    print(
        f"app server peak RSS (VmHWM), S3 backend:    {hwm_before / 1024:7.1f} MiB before, "
        f"{hwm_after_first / 1024:7.1f} MiB after the first {args.mb} MiB upload, "
        f"{hwm_after / 1024:7.1f} MiB after {args.runs} (+{(hwm_after - hwm_before) / 1024:.1f} MiB); "
        f"VmRSS {rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB"
    )
    print(
        f"app server peak RSS (VmHWM), local backend: {local_before / 1024:7.1f} MiB before, "
        f"{local_after / 1024:7.1f} MiB after one {args.local_mb} MiB upload "
        f"({args.local_mb / local_seconds:.1f} MiB/s): +{increase:.1f} MiB "
        f"(goal < 50 MiB: {'met' if increase < 50 else 'NOT met'})"
    )
    print(f"total time {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
