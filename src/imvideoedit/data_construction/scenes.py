"""Stage 1, scenes: environments x sampled conditions, each judged by a language model.

Each environment gets `scenes_per_environment` draws of `conditions_per_scene` conditions from
different condition groups, from a generator seeded by the run seed and the environment's text
alone, so adding an environment to the list leaves every other environment's scenes unchanged.
A scene's description is the environment followed by its conditions.

Random combinations are often absurd ("a penguin colony, in high summer, at a night market"), so
the judge model decides for each description whether it is physically plausible, makes common
sense and can be shown in one still image, with a one-sentence reason (paper, section 3).
Rejections are kept with their reasons; a description the model never answers validly is
recorded as failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from imvideoedit.data_construction.backends import build_chat_backend, retry_policy
from imvideoedit.data_construction.config import BuildConfig
from imvideoedit.data_construction.ids import scene_id, stable_rng
from imvideoedit.data_construction.item_runner import StageSummary, run_items
from imvideoedit.data_construction.layout import BuildLayout
from imvideoedit.data_construction.lists import DEFAULT_CONDITIONS, DEFAULT_ENVIRONMENTS, ListEntry, read_list
from imvideoedit.data_construction.records import (
    ACCEPTED,
    FAILED,
    REJECTED,
    RecordLog,
    last_answer,
    needs_work,
)
from imvideoedit.errors import UserError
from imvideoedit.vlm import AnswerInvalid, ChatBackend, Message, structured_call

PROMPT_VERSION = "scene-judge-v1"
CRITERIA = ("physically_plausible", "commonsense", "depictable")
MAX_DRAW_ATTEMPTS = 50  # draws tried per wanted scene before settling for fewer distinct scenes

SYSTEM_PROMPT = (
    "You check scene descriptions for a dataset of image-editing examples. Each description joins a "
    "base environment with a few conditions picked at random, so some combinations make no sense. "
    "Judge strictly and answer only with the JSON object asked for."
)

USER_PROMPT = """Scene description: "{description}"

Judge it on three criteria:
1. physically_plausible: nothing in it breaks physical laws (no snowfall inside a closed room, no fish walking on land).
2. commonsense: the combination happens in the real world (no penguin colony in a desert, no midday sun at night).
3. depictable: one still photograph can show all of it clearly (no sounds, smells, abstract ideas or long events).

Answer with only this JSON object:
{{"physically_plausible": true or false, "commonsense": true or false, "depictable": true or false, "reason": "one sentence explaining the verdict"}}"""


@dataclass(frozen=True)
class Scene:
    id: str
    environment: str
    environment_group: str
    conditions: tuple[str, ...]
    condition_groups: tuple[str, ...]

    @property
    def description(self) -> str:
        return ", ".join((self.environment, *self.conditions))


@dataclass(frozen=True)
class SceneVerdict:
    physically_plausible: bool
    commonsense: bool
    depictable: bool
    reason: str

    @property
    def accepted(self) -> bool:
        return self.physically_plausible and self.commonsense and self.depictable


def plan_scenes(config: BuildConfig) -> list[Scene]:
    """Every scene this config asks for, in list order (deterministic for a given seed)."""
    s = config.scenes
    environments, _ = read_list(s.environments_file, DEFAULT_ENVIRONMENTS)
    conditions, where = read_list(s.conditions_file, DEFAULT_CONDITIONS)
    if s.max_environments is not None:
        environments = environments[: s.max_environments]
    groups = _condition_groups(conditions)
    if s.conditions_per_scene > len(groups):
        raise UserError(
            f"scenes.conditions_per_scene is {s.conditions_per_scene} but {where} has only {len(groups)} "
            "condition group(s); a scene takes each condition from a different group"
        )
    order = {entry.text: index for index, entry in enumerate(conditions)}
    scenes: list[Scene] = []
    seen: set[str] = set()
    for environment in environments:
        rng = stable_rng(config.run.seed, "scenes", environment.text)
        wanted = len(scenes) + s.scenes_per_environment
        for _ in range(s.scenes_per_environment * MAX_DRAW_ATTEMPTS):
            if len(scenes) == wanted:
                break
            picked_groups = rng.sample(sorted(groups), s.conditions_per_scene)
            picked = sorted(
                (rng.choice(groups[group]) for group in picked_groups), key=lambda e: order[e.text]
            )
            texts = tuple(entry.text for entry in picked)
            item = scene_id(environment.text, texts)
            if item in seen:
                continue
            seen.add(item)
            scenes.append(
                Scene(item, environment.text, environment.group, texts, tuple(e.group for e in picked))
            )
    return scenes


def _condition_groups(conditions: list[ListEntry]) -> dict[str, list[ListEntry]]:
    """Conditions by group; a condition under no heading is a group of its own."""
    groups: dict[str, list[ListEntry]] = {}
    for entry in conditions:
        groups.setdefault(entry.group or f"#{entry.text}", []).append(entry)
    return groups


def parse_verdict(answer: Any) -> SceneVerdict:
    """The judge's JSON object as a verdict, or AnswerInvalid saying what is wrong."""
    if not isinstance(answer, dict):
        raise AnswerInvalid("the answer must be a JSON object")
    missing = [key for key in (*CRITERIA, "reason") if key not in answer]
    if missing:
        raise AnswerInvalid(f"missing key(s): {', '.join(missing)}")
    flags = {}
    for key in CRITERIA:
        value = answer[key]
        if not isinstance(value, bool):
            raise AnswerInvalid(f"{key} must be true or false, got {value!r}")
        flags[key] = value
    reason = answer["reason"]
    if not isinstance(reason, str) or not reason.strip():
        raise AnswerInvalid("reason must be a non-empty string")
    return SceneVerdict(reason=" ".join(reason.split()), **flags)


def judge_messages(scene: Scene) -> list[Message]:
    return [Message.system(SYSTEM_PROMPT), Message.user(USER_PROMPT.format(description=scene.description))]


def run_scenes(
    config: BuildConfig, backend: ChatBackend | None = None, retry_failed: bool = False
) -> StageSummary:
    """Judge every planned scene that has no record yet; returns what this run did."""
    layout = BuildLayout(config.output_dir)
    scenes = plan_scenes(config)
    summary = StageSummary("scenes", planned=len(scenes))
    with RecordLog(layout.scenes) as record_log:
        existing = record_log.read()
        todo = [scene for scene in scenes if needs_work(existing.get(scene.id), retry_failed)]
        summary.already_done = len(scenes) - len(todo)
        if not todo:
            return summary
        backend = backend or build_chat_backend(config.judge, "judge")
        policy = retry_policy(config.judge)
        identity = backend.identity()

        def judge(scene: Scene) -> dict[str, Any]:
            result = structured_call(
                backend,
                judge_messages(scene),
                parse_verdict,
                max_repairs=config.judge.max_repairs,
                retry=policy,
            )
            record: dict[str, Any] = {
                "id": scene.id,
                "environment": scene.environment,
                "environment_group": scene.environment_group,
                "conditions": list(scene.conditions),
                "condition_groups": list(scene.condition_groups),
                "description": scene.description,
                "judge": identity,
                "prompt_version": PROMPT_VERSION,
                "model_calls": result.model_calls,
                "repairs": result.repairs,
            }
            if result.value is None:
                record.update(status=FAILED, failure=result.failure, last_answer=last_answer(result.answers))
            else:
                verdict = result.value
                record.update(
                    status=ACCEPTED if verdict.accepted else REJECTED,
                    verdict={key: getattr(verdict, key) for key in CRITERIA},
                    reason=verdict.reason,
                )
            return record

        return run_items(summary, todo, judge, record_log, workers=config.judge.workers)
