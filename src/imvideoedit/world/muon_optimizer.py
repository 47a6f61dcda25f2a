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
ADAMW_BETAS = (0.9, 0.99)


def is_hidden_matrix(name: str, parameter: torch.Tensor) -> bool:
    """A transformer block's 2D weight (attention q/k/v/out, FFN in/out): what Muon steps."""
    return name.startswith("blocks.") and parameter.ndim == 2


class MuonWithAdamW:
    """Muon for the transformer's hidden matrices; AdamW for its other parameters and for the
    whole text encoder (a learning-rate `scale` per group, as the world trainer's AdamW has).
    Muon's step is scaled to AdamW's size (`adjust_lr_fn="match_rms_adamw"`), so one learning
    rate and one schedule serve both."""

    def __init__(
        self,
        transformer: torch.nn.Module,
        text_encoder: torch.nn.Module,
        learning_rate: float,
        weight_decay: float,
        text_lr_scale: float,
        fused: bool = False,
    ) -> None:
        if not hasattr(torch.optim, "Muon"):
            raise UserError(
                f"--optimizer muon needs torch >= 2.9 (torch.optim.Muon); this is torch {torch.__version__}"
            )
        hidden, rest = [], []
        for name, parameter in transformer.named_parameters():
            (hidden if is_hidden_matrix(name, parameter) else rest).append(parameter)
        if not hidden:
            raise ValueError("Muon found no hidden matrices (blocks.*, 2D) in the transformer")
        self.parts = {
            "muon": torch.optim.Muon(
                [{"params": hidden, "scale": 1.0}],
                lr=learning_rate,
                weight_decay=weight_decay,
                adjust_lr_fn="match_rms_adamw",
            ),
            "adamw": torch.optim.AdamW(
                [
                    {"params": rest, "scale": 1.0},
                    {"params": list(text_encoder.parameters()), "scale": text_lr_scale},
                ],
                lr=learning_rate,
                betas=ADAMW_BETAS,
                weight_decay=weight_decay,
                fused=fused,
            ),
        }

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
