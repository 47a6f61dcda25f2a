"""Muon for the world base's hidden matrices, AdamW for everything else, behind one interface.

Muon (`torch.optim.Muon`) orthogonalises each 2D weight's momentum before the step, so every
direction of a matrix moves at a similar rate; it is meant for a transformer's hidden matrices
(attention and FFN projections), not for embeddings, norms, biases, the adaLN tables or the
output projection, which keep AdamW. The world base is compute-bound on a CPU, so what a step
buys is what counts: in a one-object world of six colours, with the same draws, Muon reaches at
2,450 steps the loss AdamW reaches at 4,000, and at 4,000 steps draws 50-58% of the objects as
their kind against AdamW's 35-38% (docs/proving_ground.md, "Muon").

`MuonWithAdamW` is the optimizer interface the world trainer uses (`param_groups` for the
learning-rate schedule, `zero_grad`, `step`, `state_dict`, `load_state_dict`); its state is
one dict per part, so a run resumes exactly.
"""

from __future__ import annotations

import torch

from imvideoedit.errors import UserError

OPTIMIZERS = ("adamw", "muon")  # BackboneTrainingConfig.optimizer


def is_hidden_matrix(name: str, parameter: torch.Tensor) -> bool:
    """A transformer block's 2D weight (attention q/k/v/out, FFN in/out): what Muon steps."""
    return name.startswith("blocks.") and parameter.ndim == 2


def split_hidden_matrices(transformer: torch.nn.Module) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """(the hidden matrices, every other parameter) of `transformer`, in its parameter order."""
    hidden, rest = [], []
    for name, parameter in transformer.named_parameters():
        (hidden if is_hidden_matrix(name, parameter) else rest).append(parameter)
    if not hidden:
        raise ValueError("Muon found no hidden matrices (blocks.*, 2D) in the transformer")
    return hidden, rest


def muon(hidden: list[torch.Tensor], learning_rate: float, weight_decay: float) -> torch.optim.Optimizer:
    """Muon over `hidden`, its step scaled to AdamW's size (`adjust_lr_fn="match_rms_adamw"`), so
    one learning rate and one schedule serve both optimizers; one group of `scale` 1."""
    if not hasattr(torch.optim, "Muon"):
        raise UserError(
            f"--optimizer muon needs torch >= 2.9 (torch.optim.Muon); this is torch {torch.__version__}"
        )
    return torch.optim.Muon(
        [{"params": hidden, "scale": 1.0}],
        lr=learning_rate,
        weight_decay=weight_decay,
        adjust_lr_fn="match_rms_adamw",
    )


class MuonWithAdamW:
    """A Muon optimizer (the transformer's hidden matrices) and an AdamW (every other trained
    parameter, with the world trainer's learning-rate `scale` per group) stepped as one."""

    def __init__(self, muon: torch.optim.Optimizer, adamw: torch.optim.Optimizer) -> None:
        self.parts = {"muon": muon, "adamw": adamw}

    @property
    def param_groups(self) -> list[dict]:
        return [group for part in self.parts.values() for group in part.param_groups]

    def zero_grad(self, set_to_none: bool = True) -> None:
        for part in self.parts.values():
            part.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        for part in self.parts.values():
            part.step()

    def state_dict(self) -> dict:
        return {name: part.state_dict() for name, part in self.parts.items()}

    def load_state_dict(self, saved: dict) -> None:
        if set(saved) != set(self.parts):
            raise ValueError(f"not a Muon+AdamW optimizer state (parts {sorted(saved)})")
        for name, part in self.parts.items():
            part.load_state_dict(saved[name])
