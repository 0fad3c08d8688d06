"""A tiny OpenAI-compatible chat server on loopback that does what a test tells it: answer (whole or streamed word
by word), fail with a status, hang, send malformed JSON, drop the connection, or stream too slowly or cut short.
It records every request's body and headers.

In front of a real model server (``upstream``) it is a fault-injecting proxy: ``forward`` passes a request on and
the real answer back, slowed down, cut off after some stream chunks, or garbled."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal

import httpx

Kind = Literal["answer", "status", "hang", "malformed", "drop", "cut", "forward"]


@dataclass(frozen=True)
class Reply:
    """What the server does with one request. ``text``: the answer (a tool call's arguments when the request
    names tools); ``status``: for ``status``; ``pause``: seconds before each streamed word (``forward``: before
    each chunk passed on, or before a whole answer); ``cut``: a stream that stops before its end; ``forward``: the
    upstream server's answer, its connection closed after ``chunks`` stream chunks (or half a whole answer) when
    set, each chunk's data (or the whole answer) reversed when ``garble``."""

    kind: Kind = "answer"
    text: str = "Hello there."
    status: int = 500
    pause: float = 0.0
    chunks: int | None = None
    garble: bool = False


class FakeModelServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str | None = None) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        """The real server's ``.../v1`` URL that ``forward`` replies pass requests on to."""
        self.script: list[Reply] = []
        self.default = Reply()
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self.released = threading.Event()
        """Set at the end: hanging requests give up."""

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def then(self, *replies: Reply) -> None:
        """Answer the next requests with ``replies`` in order, then with :attr:`default`."""
        self.script.extend(replies)

    def next_reply(self) -> Reply:
        return self.script.pop(0) if self.script else self.default


class _Handler(BaseHTTPRequestHandler):
    server: FakeModelServer

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        self._json(200, {"object": "list", "data": [{"id": "fake", "object": "model"}]})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        self.server.requests.append(body)
        self.server.headers.append(dict(self.headers))
        reply = self.server.next_reply()
        if reply.kind == "forward":
            self._forward(body, reply)
        elif reply.kind == "hang":
            self.server.released.wait(30)
        elif reply.kind == "drop":
            self.close_connection = True
        elif reply.kind == "status":
            self._json(reply.status, {"error": {"message": "scripted failure", "type": "server_error"}})
        elif reply.kind == "malformed":
            self._send(200, "application/json", b'{"choices": [{"message": ')
        elif body.get("stream"):
            self._stream(reply)
        else:
            self._json(200, _completion(reply.text, tools=bool(body.get("tools"))))

    def _stream(self, reply: Reply) -> None:
        self._open_stream()
        for word in re.findall(r"\S+\s*", reply.text):
            time.sleep(reply.pause)
            self._event({"choices": [{"index": 0, "delta": {"content": word}}]})
        if reply.kind != "cut":
            self.wfile.write(b"data: [DONE]\n\n")

    def _forward(self, body: dict[str, Any], reply: Reply) -> None:
        assert self.server.upstream, "a forward reply needs the server's upstream"
        url = self.server.upstream.removesuffix("/v1") + self.path
        try:
            with httpx.stream("POST", url, json=body, timeout=900) as answer:
                if body.get("stream") and answer.status_code == 200:
                    self._forward_stream(answer, reply)
                else:
                    self._forward_whole(answer, reply)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (its deadline): nothing to say
            self.close_connection = True

    def _forward_stream(self, answer: httpx.Response, reply: Reply) -> None:
        self._open_stream()
        passed = 0
        for line in answer.iter_lines():
            if not line.startswith("data: "):
                continue
            if passed == reply.chunks:
                self.close_connection = True
                return
            time.sleep(reply.pause)
            data = line.removeprefix("data: ")
            self.wfile.write(f"data: {data[::-1] if reply.garble else data}\n\n".encode())
            self.wfile.flush()
            passed += 1

    def _forward_whole(self, answer: httpx.Response, reply: Reply) -> None:
        payload = answer.read()
        time.sleep(reply.pause)
        payload = payload[::-1] if reply.garble else payload
        if reply.chunks is None:
            self._send(answer.status_code, answer.headers.get("Content-Type", "application/json"), payload)
            return
        self.send_response(answer.status_code)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload[: len(payload) // 2])
        self.close_connection = True

    def _open_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, data: dict[str, Any]) -> None:
        self._send(status, "application/json", json.dumps(data).encode())

    def _send(self, status: int, content_type: str, payload: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _completion(text: str, *, tools: bool) -> dict[str, Any]:
    message: dict[str, Any] = {"role": "assistant", "content": text}
    if tools:
        message = {"role": "assistant", "content": None,
                   "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": text}}]}
    return {"id": "cmpl-1", "object": "chat.completion", "choices": [{"index": 0, "message": message}],
            "usage": {"prompt_tokens": 5, "completion_tokens": len(text.split()), "total_tokens": 9}}


@contextmanager
def fake_model_server(upstream: str | None = None) -> Iterator[FakeModelServer]:
    """A :class:`FakeModelServer` (in front of ``upstream``, if given) running in a background thread until the
    block ends."""
    server = FakeModelServer(upstream)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.released.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
