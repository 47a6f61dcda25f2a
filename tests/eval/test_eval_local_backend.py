"""The local transformers backend on a tiny random LLaVA built here (no download).

A random model cannot judge, so these tests check the plumbing: the folder loads through the
Auto classes, images reach the model, text comes back, and the judge records every item as
missing (its answers are not valid JSON) instead of inventing scores.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from imvideoedit.eval.judge import JudgeRunConfig, run_judge
from imvideoedit.eval.judge_prompt import default_prompt
from imvideoedit.eval.spec import load_spec, parse_methods
from imvideoedit.vlm import BackendConfigError, Message, RetryPolicy, VideoPart
from imvideoedit.vlm.local_transformers import LocalTransformersBackend, LocalVLMConfig

WORDS = ["<unk>", "<pad>", "<s>", "</s>", "<image>", "user:", "assistant:", "{", "}", "score", "video"]
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }}: {% for c in m['content'] %}"
    "{% if c['type'] == 'image' %}<image> {% else %}{{ c['text'] }} {% endif %}{% endfor %}{% endfor %}"
    "{% if add_generation_prompt %}assistant: {% endif %}"
)


@pytest.fixture(scope="module")
def tiny_vlm(tmp_path_factory) -> Path:
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import (
        CLIPImageProcessorPil,
        CLIPVisionConfig,
        LlamaConfig,
        LlavaConfig,
        LlavaForConditionalGeneration,
        LlavaProcessor,
        PreTrainedTokenizerFast,
    )

    vocab = {word: index for index, word in enumerate(WORDS)}
    core = Tokenizer(models.WordLevel(vocab, unk_token="<unk>"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        unk_token="<unk>",
        pad_token="<pad>",
        bos_token="<s>",
        eos_token="</s>",
        extra_special_tokens={"image_token": "<image>"},
    )
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessorPil(
            size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32}
        ),
        tokenizer=tokenizer,
        patch_size=16,
        vision_feature_select_strategy="default",
        chat_template=TEMPLATE,
        image_token="<image>",
        num_additional_image_tokens=1,
    )
    config = LlavaConfig(
        vision_config=CLIPVisionConfig(
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=16,
        ),
        text_config=LlamaConfig(
            vocab_size=len(WORDS),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            max_position_embeddings=512,
            bos_token_id=2,
            eos_token_id=3,
            pad_token_id=1,
        ),
        image_token_index=vocab["<image>"],
        vision_feature_select_strategy="default",
        vision_feature_layer=-1,
    )
    torch.manual_seed(0)
    folder = tmp_path_factory.mktemp("tiny-vlm")
    LlavaForConditionalGeneration(config).save_pretrained(folder)
    processor.save_pretrained(folder)
    return folder


def test_local_backend_answers_with_text(tiny_vlm):
    backend = LocalTransformersBackend(
        LocalVLMConfig(model_path=str(tiny_vlm), max_new_tokens=4, frames_per_video=2)
    )
    video = VideoPart(np.zeros((3, 40, 40, 3), np.uint8), fps=8.0)
    answer = backend.complete([Message.user("score the video", video)])
    assert isinstance(answer, str)
    again = backend.complete([Message.user("score the video", video)])
    assert again == answer  # greedy decoding: the same question gets the same answer
    assert backend.identity()["model_path"] == str(tiny_vlm.resolve())


def test_judge_with_a_model_that_cannot_answer_records_missing(tiny_vlm, tiny_benchmark):
    backend = LocalTransformersBackend(
        LocalVLMConfig(model_path=str(tiny_vlm), max_new_tokens=4, frames_per_video=2)
    )
    cases = load_spec(tiny_benchmark["spec"])[:1]
    config = JudgeRunConfig(max_repairs=1, retry=RetryPolicy(max_attempts=1), concurrency=1)
    record = run_judge(
        cases,
        parse_methods([f"good={tiny_benchmark['good']}"]),
        backend,
        default_prompt(),
        config,
        tiny_benchmark["root"] / "out",
    )["good"][0]
    assert record.status == "missing" and record.scores is None and record.total is None
    assert record.model_calls == 2 and record.repairs == 1
    assert record.failure.startswith("invalid answer")


def test_bad_model_folders_are_refused(tmp_path):
    with pytest.raises(BackendConfigError, match="not found"):
        LocalTransformersBackend(LocalVLMConfig(model_path=str(tmp_path / "missing")))
    with pytest.raises(BackendConfigError, match="no config.json"):
        LocalTransformersBackend(LocalVLMConfig(model_path=str(tmp_path)))


def test_text_only_chat_model_writes_text_and_refuses_images(tmp_path):
    """A local text-only LLM (the data pipeline's writer) loads from disk and answers text calls."""
    import numpy as np
    from transformers import LlamaConfig, LlamaForCausalLM

    from imvideoedit.tiny_base import build_tokenizer
    from imvideoedit.vlm.errors import BackendConfigError
    from imvideoedit.vlm.messages import ImagePart, Message, TextPart

    tokenizer = build_tokenizer()
    tokenizer.chat_template = (
        "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
        "{% if add_generation_prompt %}assistant:{% endif %}"
    )
    torch.manual_seed(0)
    model = LlamaForCausalLM(
        LlamaConfig(
            vocab_size=len(tokenizer),
            hidden_size=16,
            intermediate_size=32,
            num_hidden_layers=1,
            num_attention_heads=2,
            num_key_value_heads=2,
            pad_token_id=tokenizer.pad_token_id,
            eos_token_id=tokenizer.eos_token_id,
            bos_token_id=tokenizer.pad_token_id,
        )
    )
    folder = tmp_path / "tiny-llm"
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)

    backend = LocalTransformersBackend(LocalVLMConfig(model_path=str(folder), max_new_tokens=4))
    answer = backend.complete([Message("user", (TextPart("describe a red room"),))])
    assert isinstance(answer, str)
    assert answer == backend.complete([Message("user", (TextPart("describe a red room"),))])  # greedy
    with pytest.raises(BackendConfigError, match="text-only"):
        backend.complete([Message("user", (ImagePart(np.zeros((4, 4, 3), np.uint8)),))])
