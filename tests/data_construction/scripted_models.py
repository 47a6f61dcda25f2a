"""A scripted stand-in for the build's three model roles, and a loopback OpenAI-compatible server.

`scripted_answer(system, user)` answers like a well-behaved model would: it recognises the role
from the system prompt (scene judge, prompt writer, pair judge) and returns valid JSON whose
content is a deterministic function of the question (a fifth of scenes rejected, a quarter of
pairs scored below 6). `OpenAIServer` serves it at 127.0.0.1 as `/v1/chat/completions` and can
misbehave the way real endpoints do: prose around the JSON, code fences, missing keys,
out-of-range scores, HTTP 429 and 500, and items that never get a valid answer.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from imvideoedit.vlm import Message


def _bucket(text: str, buckets: int) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:8], 16) % buckets


def scripted_answer(system: str, user: str) -> str:
    if "scene descriptions" in system:
        description = re.search(r'Scene description: "(.*?)"', user).group(1)
        ok = _bucket(description, 5) != 0
        return json.dumps(
            {
                "physically_plausible": ok,
                "commonsense": True,
                "depictable": True,
                "reason": "The combination is coherent." if ok else "The conditions contradict each other.",
            }
        )
    if "image-editing training examples" in system:
        scene = re.search(r'Scene: "(.*?)"', user).group(1)
        task = re.search(r"Editing task: (.*?):", user).group(1)
        source = f"A detailed photograph of {scene}, natural colors and a clear composition"
        return json.dumps(
            {
                "source_prompt": source,
                "edited_prompt": f"{source}, after a {task.lower()} edit that changes the scene clearly",
                "instruction": f"Apply a {task.lower()} edit.",
            }
        )
    if "quality inspector" in system:
        instruction = re.search(r'Instruction given to the editor: "(.*?)"', user).group(1)
        pair = re.search(r'Source image prompt: "(.*?)"', user).group(1) + instruction
        low = _bucket(pair, 4) == 0
        return json.dumps(
            {
                "instruction_faithfulness": 3 if low else 8,
                "visual_quality": 7,
                "unedited_consistency": 9,
                "reason": "The edit is incomplete." if low else "The edit is faithful and clean.",
            }
        )
    raise AssertionError(f"unrecognised system prompt: {system[:80]!r}")


def fake_backend_answer(messages: list[Message]) -> str:
    """`scripted_answer` for `FakeBackend`: the first system and user messages decide."""
    system = next(m.text for m in messages if m.role == "system")
    user = next(m.text for m in messages if m.role == "user")
    return scripted_answer(system, user)


# How the server answers an item's first request, chosen by a hash of the item's question.
FIRST_ANSWER_MODES = (
    "valid",
    "prose",
    "fenced",
    "missing_key",
    "out_of_range",
    "http_429",
    "http_500",
    "garbage",
)


class OpenAIServer:
    """`/v1/chat/completions` on 127.0.0.1; `misbehave=True` turns on the first-answer modes.

    Items whose question contains one of `never_valid` get garbage on every request. `delay_s`
    slows every answer (for kill tests). `requests` counts requests per mode.
    """

    def __init__(
        self, misbehave: bool = True, never_valid: tuple[str, ...] = (), delay_s: float = 0.0
    ) -> None:
        self.misbehave = misbehave
        self.never_valid = never_valid
        self.delay_s = delay_s
        self.attempts: Counter = Counter()  # question -> requests seen
        self.requests: Counter = Counter()  # mode -> requests answered that way
        self.bodies: list[dict] = []
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def respond(self, body: dict) -> tuple[int, dict | str, dict]:
        """(HTTP status, JSON body or raw text, headers) for one request body."""
        messages = body["messages"]
        system = next(m["content"] for m in messages if m["role"] == "system")
        user_content = next(m["content"] for m in messages if m["role"] == "user")
        if isinstance(user_content, list):
            user = "\n".join(part["text"] for part in user_content if part["type"] == "text")
        else:
            user = user_content
        with self._lock:
            self.bodies.append(body)
            attempt = self.attempts[user]
            self.attempts[user] += 1
        if any(marker in user for marker in self.never_valid):
            mode = "garbage"
        elif not self.misbehave or attempt > 0:
            mode = "valid"
        else:
            mode = FIRST_ANSWER_MODES[_bucket(user, len(FIRST_ANSWER_MODES))]
        with self._lock:
            self.requests[mode] += 1
        if mode == "http_429":
            return 429, {"error": {"message": "rate limited"}}, {"Retry-After": "0"}
        if mode == "http_500":
            return 500, {"error": {"message": "internal error"}}, {}
        answer = scripted_answer(system, user)
        if mode == "prose":
            answer = f"Sure! Here is my assessment:\n{answer}\nLet me know if you need more."
        elif mode == "fenced":
            answer = f"```json\n{answer}\n```"
        elif mode == "missing_key":
            value = json.loads(answer)
            value.pop(next(iter(value)))
            answer = json.dumps(value)
        elif mode == "out_of_range":
            value = json.loads(answer)
            key = next(iter(value))
            value[key] = 42 if isinstance(value[key], int) and not isinstance(value[key], bool) else "maybe"
            answer = json.dumps(value)
        elif mode == "garbage":
            answer = "I cannot help with that."
        return 200, {"choices": [{"message": {"role": "assistant", "content": answer}}]}, {}

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                if server.delay_s:
                    time.sleep(server.delay_s)
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length))
                status, payload, headers = server.respond(body)
                data = (json.dumps(payload) if not isinstance(payload, str) else payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for key, value in headers.items():
                    self.send_header(key, value)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the client was killed mid-request (kill tests)
                    self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        return Handler
