"""The Gemini backend's requests and error mapping, with a fake client (no network).

The request-building tests need the optional google-genai package and are skipped without it;
the missing-package error is tested either way.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

from imvideoedit.errors import UserError
from imvideoedit.vlm import (
    BackendConfigError,
    BackendRequestRejected,
    Message,
    RateLimited,
    ServerError,
    VideoPart,
)


class FakeModels:
    def __init__(self, outcome):
        self.outcome = outcome
        self.calls = []

    def generate_content(self, *, model, contents, config):
        self.calls.append({"model": model, "contents": contents, "config": config})
        if isinstance(self.outcome, BaseException):
            raise self.outcome
        return self.outcome


class FakeFiles:
    def __init__(self):
        self.uploaded, self.deleted = [], []

    def upload(self, *, file, config):
        self.uploaded.append((file.read(), config.mime_type))
        return SimpleNamespace(
            name="files/abc", uri="https://example.invalid/files/abc", state=SimpleNamespace(name="ACTIVE")
        )

    def get(self, *, name):
        raise AssertionError("an ACTIVE upload needs no polling")

    def delete(self, *, name):
        self.deleted.append(name)


def fake_client(outcome):
    return SimpleNamespace(models=FakeModels(outcome), files=FakeFiles())


def test_missing_package_gives_a_clear_error(monkeypatch):
    from imvideoedit.vlm.gemini import GeminiBackend, GeminiConfig

    monkeypatch.setitem(sys.modules, "google.genai", None)
    with pytest.raises(BackendConfigError, match=r"pip install 'imvideoedit\[gemini\]'") as caught:
        GeminiBackend(GeminiConfig(model="gemini-2.5-pro"), api_key="k")
    assert isinstance(caught.value, UserError)


def test_videos_are_sent_as_files_with_an_explicit_sampling_rate(tmp_path, make_frames, make_mp4):
    pytest.importorskip("google.genai")
    from imvideoedit.vlm.gemini import GeminiBackend, GeminiConfig

    path = make_mp4(tmp_path / "clip.mp4", make_frames(4, 32, 32))
    client = fake_client(SimpleNamespace(text="the answer"))
    backend = GeminiBackend(GeminiConfig(model="gemini-x", sample_fps=6.0), client=client)
    video = VideoPart(np.zeros((4, 32, 32, 3), np.uint8), fps=8.0, path=path)
    messages = [
        Message.system("be strict"),
        Message.user("judge", video),
        Message.assistant("prior"),
        Message.user("again"),
    ]
    assert backend.complete(messages) == "the answer"
    call = client.models.calls[0]
    assert call["model"] == "gemini-x"
    assert call["config"].system_instruction == "be strict" and call["config"].temperature == 0.0
    assert [c.role for c in call["contents"]] == ["user", "model", "user"]
    text_part, video_part = call["contents"][0].parts
    assert text_part.text == "judge"
    assert video_part.inline_data.mime_type == "video/mp4"
    assert video_part.inline_data.data == path.read_bytes()  # the original file, not a re-encode
    assert video_part.video_metadata.fps == 6.0
    assert backend.identity()["sample_fps"] == 6.0


def test_frames_without_a_file_are_encoded_and_large_videos_uploaded(make_frames, tmp_path):
    pytest.importorskip("google.genai")
    from imvideoedit.video.reader import read_video
    from imvideoedit.vlm.gemini import GeminiBackend, GeminiConfig

    frames = make_frames(5, 48, 64)
    client = fake_client(SimpleNamespace(text="ok"))
    backend = GeminiBackend(GeminiConfig(model="g", inline_limit_bytes=10), client=client)
    backend.complete([Message.user(VideoPart(frames, fps=10.0))])
    data, mime = client.files.uploaded[0]
    assert mime == "video/mp4"
    (tmp_path / "sent.mp4").write_bytes(data)
    decoded = read_video(tmp_path / "sent.mp4")
    assert decoded.num_frames == 5 and decoded.fps == pytest.approx(10.0)
    luma_error = np.abs(decoded.frames.astype(float).mean(-1) - frames.astype(float).mean(-1)).mean()
    assert luma_error < 3  # the same clip (H.264 with 4:2:0 chroma; compare brightness)
    part = client.models.calls[0]["contents"][0].parts[0]
    assert part.file_data.file_uri.endswith("files/abc") and part.video_metadata.fps == 4.0
    assert client.files.deleted == ["files/abc"]  # the temporary upload is removed


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (429, RateLimited),
        (500, ServerError),
        (503, ServerError),
        (400, BackendRequestRejected),
        (401, BackendConfigError),
        (404, BackendConfigError),
    ],
)
def test_api_errors_are_mapped(code, expected):
    pytest.importorskip("google.genai")
    from google.genai import errors

    from imvideoedit.vlm.gemini import GeminiBackend, GeminiConfig

    error = errors.APIError(
        code, {"error": {"code": code, "message": "secret-key-123 failed", "status": "X"}}
    )
    backend = GeminiBackend(GeminiConfig(model="g"), api_key="secret-key-123", client=fake_client(error))
    with pytest.raises(expected) as caught:
        backend.complete([Message.user("x")])
    assert "secret-key-123" not in str(caught.value)


def test_blocked_answer_is_reported_as_text_without_scores():
    pytest.importorskip("google.genai")
    from imvideoedit.vlm.gemini import GeminiBackend, GeminiConfig

    blocked = SimpleNamespace(text=None, prompt_feedback=SimpleNamespace(block_reason="SAFETY"))
    backend = GeminiBackend(GeminiConfig(model="g"), client=fake_client(blocked))
    assert "SAFETY" in backend.complete([Message.user("x")])
    with pytest.raises(BackendConfigError, match="GEMINI_API_KEY"):
        GeminiBackend(GeminiConfig(model="g"))
