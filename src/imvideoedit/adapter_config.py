"""`AdapterConfig`: what adapter `attach_adapter` builds. Saved inside every adapter file."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from imvideoedit.errors import UserError

Variant = Literal["full", "no_gate", "no_update", "parallel"]
Mode = Literal["full", "lora"]

VARIANTS: tuple[str, ...] = ("full", "no_gate", "no_update", "parallel")
MODES: tuple[str, ...] = ("full", "lora")


@dataclass(frozen=True)
class AdapterConfig:
    """The ImVideoEdit adapter added to every block of a frozen Wan transformer.

    variant: which module to build (docs/adapter.md, "Variants and modes").
        "full"      Predict-Update Spatial Difference Attention with Text-Guided Dynamic Gating.
        "no_gate"   the gate fixed to ones (paper's "w/o Text Gate").
        "no_update" the predict branch only, H = P (paper's "w/o Update Module").
        "parallel"  two independent 2D attentions subtracted, H = A + Phi_pos(n) - Phi_neg(n)
                    (paper's "Naive Parallel 2D", ViFeEdit's design).
    mode: "full" trains every adapter weight; "lora" freezes the adapter's (inherited) Linear
        weights and trains a rank-`lora_rank` update of each, plus the norm weights.
    lora_rank / lora_alpha: LoRA rank and scale numerator (scale = alpha / rank).
    zero_init_update: zero Phi2's output projection so the module is an exact identity at step 0
        (our choice where the paper is silent; docs/adapter.md). False keeps Phi2 fully inherited.
    gate_eps / norm_eps: eps of the new LayerNorms LN_u and LN_g.
    """

    variant: Variant = "full"
    mode: Mode = "full"
    lora_rank: int = 32
    lora_alpha: float | None = None
    zero_init_update: bool = True
    norm_eps: float = 1e-6

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise UserError(f"unknown adapter variant {self.variant!r}; choose one of {', '.join(VARIANTS)}")
        if self.mode not in MODES:
            raise UserError(f"unknown adapter mode {self.mode!r}; choose one of {', '.join(MODES)}")
        if not isinstance(self.lora_rank, int) or self.lora_rank < 1:
            raise UserError(f"lora_rank must be a positive integer, got {self.lora_rank!r}")
        if self.norm_eps <= 0:
            raise UserError(f"norm_eps must be positive, got {self.norm_eps!r}")
        if self.lora_alpha is not None and not self.lora_alpha > 0:  # 0 would switch the LoRA off
            raise UserError(f"lora_alpha must be positive (or none: the rank), got {self.lora_alpha!r}")

    @property
    def lora_scale_alpha(self) -> float:
        return float(self.lora_alpha if self.lora_alpha is not None else self.lora_rank)

    @property
    def uses_update(self) -> bool:
        return self.variant in ("full", "no_gate")

    @property
    def uses_gate(self) -> bool:
        return self.variant == "full"

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> AdapterConfig:
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - valid)
        if unknown:
            raise UserError(f"unknown AdapterConfig keys {unknown}; valid keys are {sorted(valid)}")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> AdapterConfig:
        return cls.from_dict(json.loads(text))
