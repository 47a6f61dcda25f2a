"""Fixtures for the evaluation tests: a loopback OpenAI-compatible server, tiny videos, answers."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import av
import numpy as np
import pytest


def judge_answer(
    ia: int = 20, tc: int = 25, vf: int = 18, aa: int = 12, reasoning: str = "Looks right."
) -> str:
    return json.dumps(
        {
            "Reasoning": reasoning,
            "Scores": {
                "Instruction_Adherence": ia,
                "Temporal_Consistency": tc,
                "Visual_Fidelity": vf,
                "Artifact_Absence": aa,
            },
        }
    )


@dataclass
class Reply:
    """One scripted server reply: a chat answer (content) or a raw HTTP error, optionally late."""

    content: str | None = None
    status: int = 200
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0
    refusal: str | None = None


class ChatServer:
    """A loopback server speaking the chat-completions protocol from a script of replies.

    `script` is a list of `Reply` consumed in order, or a callable (request_json) -> Reply.
    Every request is recorded (headers and body) for inspection.
    """

    def __init__(self) -> None:
        self.script: list[Reply] | object = []
        self.requests: list[dict] = []
        self._lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:  # keep test output quiet
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length))
                with server._lock:
                    server.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                    if callable(server.script):
                        reply = server.script(body)
                    else:
                        reply = (
                            server.script.pop(0) if server.script else Reply(status=599, body=b"script empty")
                        )
                if reply.delay_s:
                    time.sleep(reply.delay_s)
                if reply.status == 200 and reply.body is None:
                    message = {"role": "assistant", "content": reply.content}
                    if reply.refusal is not None:
                        message = {"role": "assistant", "content": None, "refusal": reply.refusal}
                    payload = json.dumps(
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        }
                    ).encode()
                else:
                    payload = reply.body if reply.body is not None else b'{"error": {"message": "error"}}'
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def start(self) -> ChatServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


@pytest.fixture
def chat_server():
    server = ChatServer().start()
    yield server
    server.stop()


def textured_frames(
    count: int, height: int = 64, width: int = 80, seed: int = 0, shift: tuple[int, int] = (0, 0)
) -> np.ndarray:
    """A smooth random texture, moved by `shift` (dy, dx) pixels per frame: (T, H, W, 3) uint8."""
    import cv2

    rng = np.random.default_rng(seed)
    pad = 8 + max(abs(shift[0]), abs(shift[1])) * count
    noise = rng.random((height + 2 * pad, width + 2 * pad, 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 2.0)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    big = (noise * 255).astype(np.uint8)
    frames = []
    for t in range(count):
        y = pad - shift[0] * t
        x = pad - shift[1] * t
        frames.append(big[y : y + height, x : x + width])
    return np.stack(frames)


def write_mp4(path: Path, frames: np.ndarray, fps: float = 8.0) -> Path:
    """Frames (T, H, W, 3) uint8 as an H.264 MP4 (even sides), visually lossless."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = frames.shape[2], frames.shape[1]
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": "10"}
        for frame in frames:
            for packet in stream.encode(
                av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")
            ):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


@pytest.fixture
def tiny_benchmark(tmp_path: Path) -> dict:
    """A 3-case benchmark (2 tasks) with sources, and two methods' output folders.

    Method "good" has an edit for every case; method "partial" lacks case c3.
    """
    cases = [
        ("c1", "background_replacement", "Replace the background with a beach"),
        ("c2", "background_replacement", "Replace the background with snow"),
        ("c3", "Object Removal", "Remove the cup"),
    ]
    lines = []
    for index, (case_id, task, instruction) in enumerate(cases):
        frames = textured_frames(6, seed=index, shift=(0, 2))
        write_mp4(tmp_path / "sources" / f"{case_id}.mp4", frames)
        write_mp4(tmp_path / "good" / f"{case_id}.mp4", 255 - frames)
        if case_id != "c3":
            write_mp4(tmp_path / "partial" / f"{case_id}.mp4", frames[::-1])
        lines.append(
            json.dumps(
                {
                    "id": case_id,
                    "source": f"sources/{case_id}.mp4",
                    "instruction": instruction,
                    "prompt": f"A scene after: {instruction}",
                    "task": task,
                }
            )
        )
    spec = tmp_path / "spec.jsonl"
    spec.write_text("\n".join(lines) + "\n")
    return {"spec": spec, "root": tmp_path, "good": tmp_path / "good", "partial": tmp_path / "partial"}


# Helpers handed to tests as fixtures (test modules here are not a package, so they cannot import
# from this file).
@pytest.fixture
def answer():
    return judge_answer


@pytest.fixture
def reply():
    return Reply


@pytest.fixture
def make_frames():
    return textured_frames


@pytest.fixture
def make_mp4():
    return write_mp4
