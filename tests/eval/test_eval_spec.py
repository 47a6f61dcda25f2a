"""The benchmark spec, method folders, and the judge prompt (placeholders, version, messages)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from imvideoedit.errors import UserError
from imvideoedit.eval.judge_prompt import default_prompt, load_prompt
from imvideoedit.eval.spec import load_spec, parse_method, parse_methods
from imvideoedit.vlm import TextPart, VideoPart


def write_spec(tmp_path, *records, raw: str | None = None):
    path = tmp_path / "spec.jsonl"
    path.write_text(raw if raw is not None else "\n".join(json.dumps(r) for r in records) + "\n")
    return path


def case(**overrides):
    record = {
        "id": "c1",
        "source": "src.mp4",
        "instruction": "Make it snow",
        "prompt": "A snowy street",
        "task": "Lighting & Relighting Reconstruction",
    }
    record.update(overrides)
    return record


def test_spec_loads_relative_sources_and_canonical_tasks(tmp_path, make_mp4, make_frames):
    make_mp4(tmp_path / "src.mp4", make_frames(3))
    cases = load_spec(write_spec(tmp_path, case(meta={"difficulty": "hard"})))
    assert cases[0].source == tmp_path / "src.mp4"
    assert cases[0].task == "relighting" and cases[0].meta == {"difficulty": "hard"}


@pytest.mark.parametrize(
    ("records", "raw", "message"),
    [
        ([], "{not json\n", "spec.jsonl:1: not valid JSON"),
        ([case(task="dancing")], None, "unknown task 'dancing'"),
        ([case(instruction="")], None, "'instruction' must be a non-empty string"),
        ([case(id="../escape")], None, "must be usable as a file name"),
        ([case(), case()], None, "spec.jsonl:2: duplicate case id 'c1'"),
        ([case(colour="red")], None, "unknown key colour"),
        ([case(source="missing.mp4")], None, "source video not found"),
        ([case(source="text.mp4")], None, "spec.jsonl:1: source is not a readable video"),
        ([], "\n\n", "has no cases"),
    ],
)
def test_bad_specs_are_refused_with_the_line(tmp_path, make_mp4, make_frames, records, raw, message):
    make_mp4(tmp_path / "src.mp4", make_frames(3))
    (tmp_path / "text.mp4").write_text("not a video")
    with pytest.raises(UserError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_spec(write_spec(tmp_path, *records, raw=raw))


def test_method_folders(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "c1.mp4").write_bytes(b"x")
    (tmp_path / "out" / "c2.mov").write_bytes(b"x")
    (tmp_path / "out" / "c3.mp4").write_bytes(b"x")
    (tmp_path / "out" / "c3.webm").write_bytes(b"x")
    method = parse_method(f"ours={tmp_path / 'out'}")
    assert method.edited_video("c1").name == "c1.mp4" and method.edited_video("c2").name == "c2.mov"
    assert method.edited_video("c9") is None
    with pytest.raises(UserError, match="several outputs"):
        method.edited_video("c3")
    with pytest.raises(UserError, match="folder not found"):
        parse_method(f"ours={tmp_path / 'nope'}")
    with pytest.raises(UserError, match="expects NAME=DIR"):
        parse_method("ours")
    assert parse_method("ours", need_directory=False).directory is None
    with pytest.raises(UserError, match="more than once"):
        parse_methods([f"a={tmp_path}", f"a={tmp_path}"])
    with pytest.raises(UserError, match="reserved"):
        parse_methods([f"source={tmp_path}"])


def test_built_in_prompt_carries_the_protocol():
    prompt = default_prompt()
    text = prompt.template
    for fact in (
        "0 to 30 points",
        "0 to 25 points",
        "0 to 15 points",
        "28 to 30",
        "20 to 27",
        "10 to 19",
        "0 to 9",
        "21 to 25",
        "15 to 20",
        "10 to 14",
        '"Reasoning"',
        '"Instruction_Adherence"',
        '"Temporal_Consistency"',
        '"Visual_Fidelity"',
        '"Artifact_Absence"',
        "do not add a total",
    ):
        assert fact in text, fact
    assert prompt.version.startswith("sha256:") and len(prompt.version) == 23
    assert prompt.origin == "built-in"


def test_messages_place_videos_at_their_placeholders(tmp_path):
    source = VideoPart(np.zeros((2, 8, 8, 3), np.uint8), fps=8.0)
    edited = VideoPart(np.ones((2, 8, 8, 3), np.uint8), fps=8.0)
    path = tmp_path / "p.txt"
    path.write_text(
        'Original: {source_video} Edited: {edited_video} Instruction: "{instruction}" JSON: {"a": 1}'
    )
    parts = load_prompt(path).messages("add a hat", source, edited)[0].parts
    assert isinstance(parts[0], TextPart) and parts[0].text == "Original:"
    assert parts[1].frames is source.frames and parts[1].label == "original video"
    assert parts[2].text == "Edited:" and parts[3].frames is edited.frames
    assert parts[4].text == 'Instruction: "add a hat" JSON: {"a": 1}'
    # Without video placeholders the videos follow the text, labelled.
    path.write_text("Judge this edit: {instruction}")
    parts = load_prompt(path).messages("x", source, edited)[0].parts
    assert [type(p).__name__ for p in parts] == ["TextPart", "TextPart", "VideoPart", "TextPart", "VideoPart"]
    assert parts[1].text.startswith("Original video")


def test_user_prompt_files_are_validated_and_versioned(tmp_path):
    path = tmp_path / "p.txt"
    path.write_text("no placeholder")
    with pytest.raises(UserError, match="exactly once"):
        load_prompt(path)
    path.write_text("{instruction} {source_video} {source_video}")
    with pytest.raises(UserError, match="more than once"):
        load_prompt(path)
    with pytest.raises(UserError, match="not found"):
        load_prompt(tmp_path / "missing.txt")
    path.write_text("A {instruction}")
    first = load_prompt(path).version
    path.write_text("B {instruction}")
    assert load_prompt(path).version != first
