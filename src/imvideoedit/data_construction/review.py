"""Stage 5, review: a local web page where a person accepts or rejects pairs with the keyboard.

`ReviewServer` serves one page (`review_page.html`) and a small JSON API from Python's
`http.server`, bound to a loopback address only (it has no authentication):

    GET  /                         the page
    GET  /api/items                every finished pair: prompts, judge scores and verdict, decision
    GET  /images/<id>/source       the pair's images
    GET  /images/<id>/target
    POST /api/decision             {"id": ..., "decision": "accept" | "reject" | "clear"}

Each decision is appended to `review.jsonl` (flushed and fsync'ed) before the page is told it
was saved, so closing the browser or killing the server loses nothing. At export a reviewer's
decision takes precedence over the judge's verdict; "clear" withdraws it.

Requests must name the server by a loopback host (a page on another site cannot reach it
through DNS rebinding) and decisions must be sent as JSON (a plain cross-site form cannot).
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import datetime, timezone
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from imvideoedit.data.tasks import TASKS
from imvideoedit.data_construction.config import BuildConfig
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.pair_filter import CRITERIA, judge_accepts
from imvideoedit.data_construction.records import OK, RecordLog, latest_by_id, read_records, read_stage
from imvideoedit.errors import UserError

log = logging.getLogger(__name__)

ACCEPTED = "accepted"
REJECTED = "rejected"
CLEARED = "cleared"
DECISIONS = {"accept": ACCEPTED, "reject": REJECTED, "clear": CLEARED}
TASK_TITLES = {task.slug: task.title for task in TASKS}
MAX_BODY_BYTES = 4096


def human_decisions(layout: BuildLayout) -> dict[str, bool]:
    """id -> True (accepted) / False (rejected), from each pair's newest decision; cleared ones absent."""
    decisions = {}
    for item, record in latest_by_id(read_records(layout.review)).items():
        if record["status"] in (ACCEPTED, REJECTED):
            decisions[item] = record["status"] == ACCEPTED
    return decisions


def review_items(config: BuildConfig) -> list[dict[str, Any]]:
    """Every finished pair with what the page shows, ordered by id."""
    layout = BuildLayout(config.output_dir)
    prompts = latest_by_id(read_records(layout.prompts))
    scores = latest_by_id(read_records(layout.filter))
    decisions = latest_by_id(read_records(layout.review))
    items = []
    for pair in sorted(read_stage(layout.all_images()).values(), key=lambda r: r["id"]):
        texts = prompts.get(pair["id"])
        if pair.get("status") != OK or texts is None:
            continue
        judged = scores.get(pair["id"])
        decision = decisions.get(pair["id"], {}).get("status")
        items.append(
            {
                "id": pair["id"],
                "task": texts["task"],
                "task_title": TASK_TITLES.get(texts["task"], texts["task"]),
                "instruction": texts["instruction"],
                "source_prompt": texts["source_prompt"],
                "edited_prompt": texts["edited_prompt"],
                "source": pair["source"],
                "target": pair["target"],
                "judge_status": judged["status"] if judged else "unscored",
                "scores": _in_criteria_order(judged.get("scores")) if judged else None,
                "judge_reason": judged.get("reason") if judged else None,
                "judge_failure": judged.get("failure") if judged else None,
                "judge_accepts": judge_accepts(judged, config.filter.threshold),
                "decision": decision if decision in (ACCEPTED, REJECTED) else None,
            }
        )
    return items


def _in_criteria_order(scores: dict[str, int] | None) -> dict[str, int] | None:
    return None if scores is None else {key: scores[key] for key in CRITERIA if key in scores}


class ReviewServer:
    """The review page on `host:port` (port 0: a free port, see `url`)."""

    def __init__(self, config: BuildConfig, host: str | None = None, port: int | None = None) -> None:
        self.config = config
        self.layout = BuildLayout(config.output_dir)
        self.decision_log = RecordLog(self.layout.review)
        self._images: dict[str, dict[str, str]] = {}
        self._lock = threading.Lock()
        host = host or config.review.host
        port = config.review.port if port is None else port
        server_class = _IPv6Server if ":" in host else ThreadingHTTPServer
        try:
            self.httpd = server_class((host, port), _handler_for(self))
        except OSError as error:
            raise UserError(
                f"cannot serve the review page on {host}:{port}: {error.strerror or error}"
            ) from None
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    @property
    def allowed_hosts(self) -> set[str]:
        return {f"{name}:{self.port}" for name in ("127.0.0.1", "localhost", "[::1]")}

    def serve_forever(self) -> None:
        try:
            self.httpd.serve_forever()
        finally:
            self.close()

    def start(self) -> ReviewServer:
        """Serve on a background thread (tests, notebooks); `close()` stops it."""
        self._thread = threading.Thread(target=self.httpd.serve_forever, name="review-server", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.httpd.shutdown()
            self._thread.join()
            self._thread = None
        self.httpd.server_close()
        self.decision_log.close()

    def items(self) -> list[dict[str, Any]]:
        items = review_items(self.config)
        with self._lock:
            self._images = {
                item["id"]: {"source": item["source"], "target": item["target"]} for item in items
            }
        return items

    def image_path(self, item: str, which: str) -> Path | None:
        with self._lock:
            known = self._images.get(item)
        if known is None:
            self.items()
            with self._lock:
                known = self._images.get(item)
        if known is None or which not in known:
            return None
        return self.layout.root / known[which]

    def decide(self, item: str, decision: str) -> str:
        if decision not in DECISIONS:
            raise ValueError(f"decision must be one of {', '.join(DECISIONS)}, got {decision!r}")
        if self.image_path(item, "source") is None:
            raise KeyError(item)
        status = DECISIONS[decision]
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self.decision_log.append({"id": item, "status": status, "decided_at": now})
        return status


class _IPv6Server(ThreadingHTTPServer):
    address_family = socket.AF_INET6


def _handler_for(server: ReviewServer) -> type[BaseHTTPRequestHandler]:
    page = resources.files("imvideoedit.data_construction").joinpath("review_page.html").read_bytes()

    class Handler(BaseHTTPRequestHandler):
        server_version = "imvideoedit-review"

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            if not self._host_ok():
                return
            path = urlsplit(self.path).path
            if path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, page, "text/html; charset=utf-8")
            elif path == "/api/items":
                self._json(
                    HTTPStatus.OK, {"items": server.items(), "threshold": server.config.filter.threshold}
                )
            elif path.startswith("/images/"):
                self._image(path)
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page: {path}"})

        def do_POST(self) -> None:  # noqa: N802 - http.server's naming
            if not self._host_ok():
                return
            if urlsplit(self.path).path != "/api/decision":
                self._json(HTTPStatus.NOT_FOUND, {"error": "POST only to /api/decision"})
                return
            if self.headers.get_content_type() != "application/json":
                self._json(
                    HTTPStatus.UNSUPPORTED_MEDIA_TYPE, {"error": "send the decision as application/json"}
                )
                return
            length = int(self.headers.get("Content-Length") or 0)
            if not 0 < length <= MAX_BODY_BYTES:
                self._json(HTTPStatus.BAD_REQUEST, {"error": "missing or oversized body"})
                return
            try:
                body = json.loads(self.rfile.read(length))
                status = server.decide(str(body["id"]), str(body["decision"]))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                message = (
                    f"unknown pair {error}" if isinstance(error, KeyError) else "body must be {id, decision}"
                )
                self._json(HTTPStatus.BAD_REQUEST, {"error": message})
                return
            except ValueError as error:
                self._json(HTTPStatus.BAD_REQUEST, {"error": str(error)})
                return
            self._json(HTTPStatus.OK, {"id": body["id"], "decision": status if status != CLEARED else None})

        def _image(self, path: str) -> None:
            parts = path.split("/")  # ["", "images", id, which]
            if len(parts) != 4:
                self._json(HTTPStatus.NOT_FOUND, {"error": "expected /images/<id>/source or /target"})
                return
            file = server.image_path(unquote(parts[2]), parts[3])
            if file is None or not file.is_file():
                self._json(HTTPStatus.NOT_FOUND, {"error": "no such image"})
                return
            self._send(HTTPStatus.OK, file.read_bytes(), "image/png", cache=True)

        def _host_ok(self) -> bool:
            if self.headers.get("Host") in server.allowed_hosts:
                return True
            self._json(
                HTTPStatus.FORBIDDEN, {"error": "the review page answers only on a loopback host name"}
            )
            return False

        def _json(self, status: HTTPStatus, value: Any) -> None:
            self._send(status, json.dumps(value, ensure_ascii=False).encode("utf-8"), "application/json")

        def _send(self, status: HTTPStatus, body: bytes, content_type: str, cache: bool = False) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "max-age=3600" if cache else "no-store")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - http.server's signature
            log.debug("review: " + format, *args)

    return Handler
