"""Stage 2, prompts: for each accepted scene and each of its tasks, the texts of one edit pair.

Each accepted scene draws `tasks_per_scene` distinct task categories from `task_mix` (weighted,
without replacement, seeded by the run seed and the scene id). For each (scene, task) the writer
model produces three texts:

    source_prompt   the original image, described in full
    edited_prompt   the image after the edit, described in full: the whole scene again, not
                    only the change (paper, section 3: text-to-video backbones respond poorly
                    to sparse instructions, so the training prompt states the target state)
    instruction     the edit as one short imperative sentence

Answers are checked against that schema (keys, word counts, the token limit of the video
model's text encoder, an edited prompt that differs from the source), repaired by asking again
and recorded as failed when they never validate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from imvideoedit.data.tasks import TASK_SLUGS, TASKS, Task
from imvideoedit.data.validation import MAX_PROMPT_TOKENS, estimate_tokens
from imvideoedit.data_construction.backends import build_chat_backend, retry_policy
from imvideoedit.data_construction.config import BuildConfig, PromptsConfig
from imvideoedit.data_construction.ids import pair_id, stable_rng
from imvideoedit.data_construction.item_runner import StageSummary, run_items
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.records import (
    ACCEPTED,
    FAILED,
    OK,
    RecordLog,
    last_answer,
    needs_work,
    read_records,
)
from imvideoedit.vlm import AnswerInvalid, ChatBackend, Message, structured_call

PROMPT_VERSION = "pair-writer-v1"
TASKS_BY_SLUG: dict[str, Task] = {task.slug: task for task in TASKS}

# What each category asks of the three texts, beyond the paper's one-line definition.
TASK_GUIDANCE: dict[str, str] = {
    "style_transfer": "Pick one concrete visual style (Pixar-style 3D animation, pixel art, watercolor, oil "
    "painting, ukiyo-e print, claymation, ...). The edited prompt describes the same subjects and layout "
    "rendered in that style, naming the style's colors, textures and shading.",
    "color_texture": "Pick one clearly visible object or region and change only its color or material (for "
    "example wood to marble). Its shape, position and everything else stay as in the source.",
    "object_addition": "Add one new object that fits the scene physically and semantically. The source "
    "prompt must not contain it; the edited prompt says what it is, where it is and how the scene's light "
    "falls on it.",
    "object_removal": "The source prompt must clearly describe one removable object (not the environment "
    "itself) and its position; the edited prompt describes the scene without it, saying what is now visible "
    "where it was.",
    "rigid_replacement": "Replace one rigid object (furniture, vehicle, building, appliance, ...) by a "
    "different object of similar size and shape, in the same place and perspective.",
    "non_rigid_replacement": "Replace one person or animal in the scene by a different subject (another "
    "animal, a robot, a different person, ...) in the same pose and place. The source prompt must contain "
    "that subject.",
    "camera_viewpoint": "Change the camera viewpoint or framing (aerial view, low angle, zoomed out, side "
    "view, ...). Every element of the source stays, with the same spatial relations; the edited prompt "
    "describes the scene as seen from the new viewpoint.",
    "local_attribute": "Change a local attribute or state of one object or person (expression, wetness, "
    "damage, open or closed, lit or unlit, ...) without changing what it is or anything else.",
    "relighting": "Change the global lighting: time of day, light direction or color temperature. Objects "
    "and layout stay; the edited prompt describes the new light, shadows and reflections.",
    "background_replacement": "Keep the foreground subject(s) unchanged in identity, pose and placement and "
    "replace the whole background by a different environment; the edited prompt describes the new "
    "background and how its light falls on the subject.",
}
if set(TASK_GUIDANCE) != set(TASK_SLUGS):  # the task list is defined in imvideoedit.data.tasks
    raise RuntimeError(f"TASK_GUIDANCE covers {sorted(TASK_GUIDANCE)}, the task list is {list(TASK_SLUGS)}")

SYSTEM_PROMPT = (
    "You write the texts of image-editing training examples: a prompt for the original image, a prompt "
    "for the edited image and a short editing instruction. Prompts are concrete, visual and complete; "
    "they are read by text-to-image and text-to-video models. Answer only with the JSON object asked for."
)

USER_PROMPT = """Scene: "{scene}"

Editing task: {title}: {definition}.
{guidance}

Write:
- "source_prompt": the original image described in full ({min_words} to {max_words} words): subjects, their appearance and positions, the setting, lighting and camera view.
- "edited_prompt": the image AFTER the edit described in full ({min_words} to {max_words} words). Describe the whole scene again, not the change: keep the source prompt's wording for everything the edit leaves alone and describe the edited part as it now looks.
- "instruction": the edit as one short imperative sentence (at most {max_instruction_words} words), e.g. "Turn the wooden table into marble."

Answer with only this JSON object:
{{"source_prompt": "...", "edited_prompt": "...", "instruction": "..."}}"""


@dataclass(frozen=True)
class PairTexts:
    source_prompt: str
    edited_prompt: str
    instruction: str


@dataclass(frozen=True)
class PromptItem:
    id: str
    scene_id: str
    scene: str  # the scene description
    task: str  # slug


def assign_tasks(run_seed: int, scene: str, config: PromptsConfig) -> list[str]:
    """`tasks_per_scene` distinct task slugs drawn by weight, without replacement, seeded by the scene."""
    rng = stable_rng(run_seed, "tasks", scene)
    weights = {slug: weight for slug, weight in config.task_mix.items() if weight > 0}
    chosen: list[str] = []
    for _ in range(min(config.tasks_per_scene, len(weights))):
        slugs = sorted(weights)
        slug = rng.choices(slugs, weights=[weights[s] for s in slugs])[0]
        chosen.append(slug)
        del weights[slug]
    return chosen


def plan_prompt_items(config: BuildConfig, scene_records: dict[str, dict[str, Any]]) -> list[PromptItem]:
    items = []
    for scene in scene_records.values():
        if scene.get("status") != ACCEPTED:
            continue
        for task in assign_tasks(config.run.seed, scene["id"], config.prompts):
            items.append(PromptItem(pair_id(scene["id"], task), scene["id"], scene["description"], task))
    return items


def writer_messages(item: PromptItem, config: PromptsConfig) -> list[Message]:
    task = TASKS_BY_SLUG[item.task]
    text = USER_PROMPT.format(
        scene=item.scene,
        title=task.title,
        definition=task.definition,
        guidance=TASK_GUIDANCE[item.task],
        min_words=config.min_prompt_words,
        max_words=config.max_prompt_words,
        max_instruction_words=config.max_instruction_words,
    )
    return [Message.system(SYSTEM_PROMPT), Message.user(text)]


def make_parser(config: PromptsConfig):
    """A parse function for structured_call checking the writer's answer against `config`."""

    def parse(answer: Any) -> PairTexts:
        if not isinstance(answer, dict):
            raise AnswerInvalid("the answer must be a JSON object")
        missing = [key for key in ("source_prompt", "edited_prompt", "instruction") if key not in answer]
        if missing:
            raise AnswerInvalid(f"missing key(s): {', '.join(missing)}")
        texts = {}
        for key in ("source_prompt", "edited_prompt", "instruction"):
            value = answer[key]
            if not isinstance(value, str) or not value.strip():
                raise AnswerInvalid(f"{key} must be a non-empty string")
            texts[key] = " ".join(value.split())
        for key in ("source_prompt", "edited_prompt"):
            words = _words(texts[key])
            if not config.min_prompt_words <= words <= config.max_prompt_words:
                raise AnswerInvalid(
                    f"{key} has {words} words; it must have {config.min_prompt_words} to {config.max_prompt_words}"
                )
            if estimate_tokens(texts[key]) > MAX_PROMPT_TOKENS:
                raise AnswerInvalid(f"{key} is too long for the text encoder; shorten it")
        instruction_words = _words(texts["instruction"])
        if not 2 <= instruction_words <= config.max_instruction_words:
            raise AnswerInvalid(
                f"instruction has {instruction_words} words; it must have 2 to {config.max_instruction_words}"
            )
        if _squash(texts["edited_prompt"]) == _squash(texts["source_prompt"]):
            raise AnswerInvalid(
                "edited_prompt is the same as source_prompt; it must describe the scene after the edit"
            )
        if _squash(texts["edited_prompt"]) == _squash(texts["instruction"]):
            raise AnswerInvalid(
                "edited_prompt repeats the instruction; it must describe the whole edited scene"
            )
        return PairTexts(**texts)

    return parse


def _words(text: str) -> int:
    return len(text.split())


def _squash(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


def run_prompts(
    config: BuildConfig, backend: ChatBackend | None = None, retry_failed: bool = False
) -> StageSummary:
    """Write the texts of every (accepted scene, task) item that has no record yet."""
    layout = BuildLayout(config.output_dir)
    scene_records = {r["id"]: r for r in read_records(layout.scenes)}
    items = plan_prompt_items(config, scene_records)
    summary = StageSummary("prompts", planned=len(items))
    if not scene_records:
        summary.notes.append(f"no scene records in {layout.scenes}: run the scenes stage first")
    with RecordLog(layout.prompts) as record_log:
        existing = record_log.read()
        todo = [item for item in items if needs_work(existing.get(item.id), retry_failed)]
        summary.already_done = len(items) - len(todo)
        if not todo:
            return summary
        backend = backend or build_chat_backend(config.writer, "writer")
        policy = retry_policy(config.writer)
        identity = backend.identity()
        parse = make_parser(config.prompts)

        def write(item: PromptItem) -> dict[str, Any]:
            result = structured_call(
                backend,
                writer_messages(item, config.prompts),
                parse,
                max_repairs=config.writer.max_repairs,
                retry=policy,
            )
            record: dict[str, Any] = {
                "id": item.id,
                "scene_id": item.scene_id,
                "scene": item.scene,
                "task": item.task,
                "writer": identity,
                "prompt_version": PROMPT_VERSION,
                "model_calls": result.model_calls,
                "repairs": result.repairs,
            }
            if result.value is None:
                record.update(status=FAILED, failure=result.failure, last_answer=last_answer(result.answers))
            else:
                texts = result.value
                record.update(
                    status=OK,
                    source_prompt=texts.source_prompt,
                    edited_prompt=texts.edited_prompt,
                    instruction=texts.instruction,
                )
            return record

        return run_items(summary, todo, write, record_log, workers=config.writer.workers)
