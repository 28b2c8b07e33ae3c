"""Transient S3 errors (503 SlowDown, a dropped connection) are retried with backoff, and reported
once the attempts are used up: a small HTTP proxy in front of the real S3 server (versitygw) answers
the first requests with faults, then passes them through unchanged (the signature covers the Host
header, which the proxy forwards as it came)."""

from __future__ import annotations

import http.client
import http.server
import threading
import uuid
from dataclasses import dataclass, field

import pytest

from lakehouse.core.config import S3_MAX_ATTEMPTS, S3Settings, Settings
from lakehouse.core.errors import LakehouseError
from lakehouse.core.storage import Storage, s3_client
from lakehouse.engines.embedded.engine import EmbeddedEngine

pytestmark = pytest.mark.integration

SLOW_DOWN = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code>'
             b"<Message>Please reduce your request rate.</Message></Error>")


@dataclass
class Faults:
    """What the proxy does to the next requests: 'slowdown' (503) or 'reset' (close without answer)."""

    plan: list[str] = field(default_factory=list)
    always: str | None = None
    served: list[str] = field(default_factory=list)  # per request: the fault, or 'ok'
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next(self) -> str:
        with self.lock:
            fault = self.plan.pop(0) if self.plan else (self.always or "ok")
            self.served.append(fault)
            return fault


def start_proxy(upstream: str, faults: Faults) -> tuple[str, http.server.ThreadingHTTPServer]:
    host, port = upstream.removeprefix("http://").split(":")

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: object) -> None:
            pass

        def _raw_body(self) -> bytes:
            """The request body as sent: the AWS SDK streams uploads chunked, with checksum trailers."""
            if "chunked" not in (self.headers.get("Transfer-Encoding") or "").lower():
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            raw = b""
            while True:
                line = self.rfile.readline()
                raw += line
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:  # trailers, up to the empty line
                        trailer = self.rfile.readline()
                        raw += trailer
                        if trailer in (b"\r\n", b"\n", b""):
                            return raw
                raw += self.rfile.read(size + 2)

        def _forward(self) -> None:
            body = self._raw_body()
            fault = faults.next()
            if fault == "reset":
                self.close_connection = True
                self.connection.shutdown(2)
                return
            if fault == "slowdown":
                self.send_response(503)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(SLOW_DOWN)))
                self.end_headers()
                self.wfile.write(SLOW_DOWN)
                return
            upstream_connection = http.client.HTTPConnection(host, int(port), timeout=30)
            upstream_connection.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                upstream_connection.putheader(name, value)
            upstream_connection.endheaders(body or None)
            answer = upstream_connection.getresponse()
            data = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            # A HEAD answer has no body but the object's length.
            length = answer.getheader("Content-Length", "0") if self.command == "HEAD" else str(len(data))
            self.send_header("Content-Length", length)
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(data)
            upstream_connection.close()

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}", server


@pytest.fixture
def proxied(s3_server):
    faults = Faults()
    endpoint, server = start_proxy(s3_server.endpoint, faults)
    bucket = f"retry-{uuid.uuid4().hex[:10]}"
    s3_server.client().create_bucket(Bucket=bucket)
    s3 = S3Settings(endpoint_url=endpoint, access_key_id=s3_server.access_key,
                    secret_access_key=s3_server.secret_key, region=s3_server.region)
    try:
        yield s3, bucket, faults
    finally:
        server.shutdown()
        server.server_close()


def test_slowdown_and_resets_are_retried_by_the_file_system(proxied):
    s3, bucket, faults = proxied
    storage = Storage(s3)
    uri = f"s3://{bucket}/landing/customer/a.csv"
    faults.plan = ["slowdown", "reset", "slowdown"]
    storage.write_bytes(uri, b"a\n1\n")
    faults.plan = ["slowdown", "slowdown"]
    assert storage.read_bytes(uri) == b"a\n1\n"
    faults.plan = ["reset", "slowdown"]
    assert [info.name for info in storage.list_files(f"s3://{bucket}/landing")] == ["a.csv"]
    assert faults.served.count("slowdown") == 5 and faults.served.count("reset") == 2


@pytest.mark.slow  # the backoff between six attempts adds up to about 20 s
def test_a_fault_that_lasts_is_reported_after_every_attempt(proxied):
    s3, bucket, faults = proxied
    faults.always = "slowdown"
    with pytest.raises(LakehouseError) as caught:
        Storage(s3).list_files(f"s3://{bucket}/landing")
    assert f"s3://{bucket}/landing" in caught.value.message and "SLOW_DOWN" in caught.value.message
    assert faults.served == ["slowdown"] * S3_MAX_ATTEMPTS  # retried, then reported: no endless loop


def test_boto3_clients_and_delta_tables_retry_too(proxied, tmp_path):
    s3, bucket, faults = proxied
    faults.plan = ["slowdown", "reset"]
    s3_client(s3).put_object(Bucket=bucket, Key="warehouse/_locks/x.lock", Body=b"{}")
    assert faults.served[:3] == ["slowdown", "reset", "ok"]

    import pyarrow as pa

    settings = Settings(landing=f"s3://{bucket}/landing", warehouse=f"s3://{bucket}/warehouse", s3=s3)
    assert settings.s3.delta_storage_options()["max_retries"] == str(S3_MAX_ATTEMPTS - 1)
    from deltalake import DeltaTable, write_deltalake

    uri = f"s3://{bucket}/warehouse/bronze/t"
    options = settings.s3.delta_storage_options()
    write_deltalake(uri, pa.table({"id": [1, 2]}), storage_options=options)
    faults.served.clear()
    faults.plan = ["slowdown", "slowdown", "reset"]
    assert DeltaTable(uri, storage_options=options).to_pyarrow_table().column("id").to_pylist() == [1, 2]
    assert faults.served[:3] == ["slowdown", "slowdown", "reset"] and "ok" in faults.served
    assert EmbeddedEngine(settings, Storage(s3)) is not None
