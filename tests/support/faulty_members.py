"""Members that misbehave, made for the hub's tests: real HTTP servers on loopback that accept
connections and then never answer, answer 500, or answer 200 with something that is not a
Beacon answer; and, switched to ``healthy``, one that recovered. Each records the paths it was
asked for."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BEHAVIOURS = ("hang", "error", "invalid", "not-json", "healthy")
# what a "healthy" member answers to everything: a Beacon answer holding nothing
EMPTY_ANSWER = {
    "meta": {
        "beaconId": "org.example.recovered",
        "apiVersion": "v2.0.0",
        "returnedSchemas": [],
        "returnedGranularity": "count",
        "receivedRequestSummary": {},
    },
    "responseSummary": {"exists": False, "numTotalResults": 0},
    "response": {"resultSets": []},
}


class _Handler(BaseHTTPRequestHandler):
    server: FaultyMember

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        self._misbehave()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self._misbehave()

    def _misbehave(self) -> None:
        member = self.server
        with member.lock:
            member.paths.append(self.path.split("?", 1)[0])
        if member.behaviour == "hang":
            member.released.wait()  # until the test ends: the hub must give up first
            return
        if member.behaviour == "healthy":
            self._send(200, json.dumps(EMPTY_ANSWER).encode())
        elif member.behaviour == "error":
            body = {"error": {"errorCode": 500, "errorMessage": "database is down"}}
            self._send(500, json.dumps(body).encode())
        elif member.behaviour == "invalid":
            self._send(200, json.dumps({"meta": {"beaconId": "x"}, "rows": [1, 2]}).encode())
        else:
            self._send(200, b"<html>maintenance</html>")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class FaultyMember(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, behaviour: str) -> None:
        if behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour must be one of {BEHAVIOURS}")
        super().__init__(("127.0.0.1", 0), _Handler)
        self.behaviour = behaviour
        self.lock = threading.Lock()
        self.released = threading.Event()
        self.paths: list[str] = []

    def requests_to(self, suffix: str) -> int:
        """How many requests it received to paths ending in ``suffix``."""
        with self.lock:
            return sum(1 for p in self.paths if p.endswith(suffix))

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


@contextmanager
def faulty_member(behaviour: str) -> Iterator[FaultyMember]:
    server = FaultyMember(behaviour)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
