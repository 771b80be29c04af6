"""A throwaway S3-compatible server for the tests: moto's server mode (a real HTTP server speaking the
S3 API, pinned in the lock as a test dependency) on a free 127.0.0.1 port, as a subprocess.

Its buckets live in the server's memory, so stopping it removes every object. The keys are made
up per server: moto accepts any, and the tests look for this one secret key where it must not be.
"""

from __future__ import annotations

import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.support.postgres import free_port

START_TIMEOUT = 30  # seconds for the server to answer


class S3Error(RuntimeError):
    """The server could not be found or started; the message says why."""


# `make test` installs moto_server into a venv of its own (requirements-s3.lock).
S3_VENV = Path(__file__).resolve().parents[2] / ".venv-s3" / "bin" / "moto_server"


def moto_command() -> list[str]:
    """`moto_server` of the project's .venv-s3, else beside this interpreter, else on PATH."""
    for candidate in (S3_VENV, Path(sys.executable).parent / "moto_server"):
        if os.access(candidate, os.X_OK):
            return [str(candidate)]
    found = shutil.which("moto_server")
    if found is None:
        raise S3Error(
            "moto_server not found (.venv-s3, beside the interpreter, or on PATH): `make test` installs it (requirements-s3.lock)"
        )
    return [found]


class S3Server:
    """One moto server: start() launches it and waits until it answers, stop() ends it."""

    region = "us-east-1"

    def __init__(self) -> None:
        self.port: int | None = None
        self.access_key = "AKIA" + secrets.token_hex(8).upper()
        self.secret_key = "callhouse-test-" + secrets.token_urlsafe(24)
        self._process: subprocess.Popen | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> S3Server:
        self.port = free_port()
        # Its log to a file, never a pipe: werkzeug writes a line per request, and a pipe nobody
        # reads fills up and stops the server mid-test.
        self._log = tempfile.TemporaryFile(mode="w+")
        self._process = subprocess.Popen(
            [*moto_command(), "-H", "127.0.0.1", "-p", str(self.port)], stdout=self._log, stderr=subprocess.STDOUT, text=True
        )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                self._log.seek(0)
                raise S3Error(f"moto_server exited {self._process.returncode}: {self._log.read()[-2000:]}")
            try:
                self._request("GET", "/")
                return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise S3Error(f"moto_server did not answer on {self.endpoint} within {START_TIMEOUT} s")

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            self._process = None
            self._log.close()

    def __enter__(self) -> S3Server:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def create_bucket(self, name: str) -> str:
        """A new empty bucket; its s3:// URL."""
        self._request("PUT", f"/{name}")
        return f"s3://{name}"

    def objects(self, bucket: str, prefix: str = "") -> dict[str, int]:
        """Key -> size of every object under the prefix (ListObjectsV2, page by page)."""
        ns = {"s3": "http://s3.amazonaws.com/doc/2006-03-01/"}
        found: dict[str, int] = {}
        token = ""
        while True:
            query = f"list-type=2&prefix={urllib.parse.quote(prefix)}"
            if token:
                query += f"&continuation-token={urllib.parse.quote(token)}"
            root = ET.fromstring(self._request("GET", f"/{bucket}?{query}"))
            for item in root.findall("s3:Contents", ns):
                found[item.find("s3:Key", ns).text] = int(item.find("s3:Size", ns).text)
            if root.findtext("s3:IsTruncated", namespaces=ns) != "true":
                return found
            token = root.findtext("s3:NextContinuationToken", namespaces=ns)

    def env(self, bucket_url: str) -> dict[str, str]:
        """dlt's storage settings of a DuckLake whose data is at `bucket_url` on this server."""
        prefix = "DESTINATION__DUCKLAKE__CREDENTIALS__STORAGE"
        return {
            prefix: bucket_url,
            f"{prefix}__CREDENTIALS__AWS_ACCESS_KEY_ID": self.access_key,
            f"{prefix}__CREDENTIALS__AWS_SECRET_ACCESS_KEY": self.secret_key,
            f"{prefix}__CREDENTIALS__ENDPOINT_URL": self.endpoint,
            f"{prefix}__CREDENTIALS__REGION_NAME": self.region,
        }

    def _request(self, method: str, path: str) -> bytes:
        # moto's server takes unsigned requests for its own buckets: the tests' set-up needs no signer.
        request = urllib.request.Request(self.endpoint + path, method=method)
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.read()
