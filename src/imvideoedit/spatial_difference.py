"""Predict-Update Spatial Difference Attention with Text-Guided Dynamic Semantic Gating.

One `SpatialDifferenceAdapter` lives in every Wan block (docs/adapter.md, "What one adapted block computes"). It receives what the
block's frozen 3D self-attention received (n, the modulated norm1 output) and what it returned
(A), and returns H, which takes A's place inside the block's timestep gate:

    S1 = Phi1(n)                       predict: dense spatial observation      (eq. 4)
    P  = A + W_p(S1)                   predictive state, W_p zero-initialised  (eq. 5)
    R  = P - S1                        spatial conflict                        (eq. 6)
    dS = Phi2(LN_u(R))                 update: structural refinement offset    (eq. 7)
    C  = CrossAttn_g(LN_g(dS), text)   text-guided context                     (eq. 8)
    G  = sigmoid(GateProj(C))          token x channel gate                    (eq. 9)
    H  = P + G * dS                                                            (eq. 10)

Variants (docs/adapter.md, "Variants and modes") build only the modules they use:
    full       everything above
    no_gate    G = 1
    no_update  H = P
    parallel   H = A + Phi_pos(n) - Phi_neg(n)   (ViFeEdit's naive parallel 2D)

At initialisation H == A exactly: W_p is zero, Phi2's output projection is zero (so dS = 0), and
the parallel variant's two branches are identical copies whose difference is exactly 0.

Every frozen weight must be rebuildable when a file is loaded, since a LoRA-mode file holds only
the LoRA factors and norms: the copies of the block's attention come from the base (Phi2's
output projection then zeroed, with `zero_init_update`), W_p is zero. GateProj is the one fresh random layer; in LoRA mode it is
frozen, so it is drawn from a fixed seed per block (`GATE_SEED + block index`), not from the
global random state, and a saved LoRA adapter reloads bit for bit in any process. (In full mode
GateProj trains and is saved, and keeps its default initialisation.)
"""

from __future__ import annotations

import copy

import torch
from diffusers.models.normalization import FP32LayerNorm
from torch import nn

from imvideoedit.adapter_config import AdapterConfig
from imvideoedit.joint_spatial_attention import JointSpatialAttention

GATE_SEED = 20_250_401  # + block index: GateProj's initial weights in LoRA mode (part of the file format)


def _seeded_linear_init(module: nn.Module, seed: int) -> None:
    """nn.Linear's default initialisation (uniform in +-1/sqrt(fan_in)) from a fixed seed, drawn
    in float32 on the CPU so that every device and dtype gets the same values."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for layer in module.modules():
            if not isinstance(layer, nn.Linear) or layer.weight.is_meta:
                continue
            bound = 1.0 / layer.in_features**0.5
            for param in (layer.weight, layer.bias):
                if param is not None:
                    values = (
                        torch.rand(param.shape, generator=generator, dtype=torch.float32, device="cpu") * 2
                        - 1
                    )
                    param.copy_((values * bound).to(device=param.device, dtype=param.dtype))


class SpatialDifferenceAdapter(nn.Module):
    """The per-block adapter. Built from the block's `attn1` (self) and `attn2` (cross)."""

    def __init__(self, attn1: nn.Module, attn2: nn.Module, config: AdapterConfig, index: int = 0) -> None:
        super().__init__()
        self.variant = config.variant
        weight = attn1.to_q.weight
        dim = weight.shape[1]
        factory = {"device": weight.device, "dtype": weight.dtype}

        if config.variant == "parallel":
            self.phi_pos = JointSpatialAttention(attn1)
            self.phi_neg = JointSpatialAttention(attn1)
            return

        self.phi1 = JointSpatialAttention(attn1)
        self.proj_p = nn.Linear(dim, dim, **factory)
        nn.init.zeros_(self.proj_p.weight)
        nn.init.zeros_(self.proj_p.bias)

        if config.uses_update:
            self.norm_update = FP32LayerNorm(dim, config.norm_eps, elementwise_affine=True).to(**factory)
            self.phi2 = JointSpatialAttention(attn1)
            if config.zero_init_update:
                out = self.phi2.attn.to_out[0]
                nn.init.zeros_(out.weight)
                nn.init.zeros_(out.bias)

        if config.uses_gate:
            self.norm_gate = FP32LayerNorm(dim, config.norm_eps, elementwise_affine=True).to(**factory)
            self.gate_attn = copy.deepcopy(attn2)
            self.gate_proj = nn.Sequential(
                nn.Linear(dim, dim, **factory),
                nn.GELU(approximate="tanh"),
                nn.Linear(dim, dim, **factory),
            )
            if config.mode == "lora":  # frozen and not saved: rebuilt from its seed on loading
                _seeded_linear_init(self.gate_proj, GATE_SEED + index)

    def forward(
        self,
        norm_hidden_states: torch.Tensor,
        attn_output: torch.Tensor,
        text: torch.Tensor,
        grid: tuple[int, int, int],
        rotary_emb_2d: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """n: (2b, L, D), A: (2b, L, D), text: (2b, T, D) -> H: (2b, L, D)."""
        n, a = norm_hidden_states, attn_output
        if self.variant == "parallel":
            # Bracketed so that identical branches cancel exactly: H == A bit for bit at initialisation.
            return a + (self.phi_pos(n, grid, rotary_emb_2d) - self.phi_neg(n, grid, rotary_emb_2d))

        s1 = self.phi1(n, grid, rotary_emb_2d)  # (2b, L, D)
        p = a + self.proj_p(s1)  # (2b, L, D)
        if self.variant == "no_update":
            return p

        r = p - s1  # (2b, L, D)
        ds = self.phi2(self.norm_update(r), grid, rotary_emb_2d)  # (2b, L, D)
        if self.variant == "no_gate":
            return p + ds

        context = self.gate_attn(hidden_states=self.norm_gate(ds), encoder_hidden_states=text)  # (2b, L, D)
        gate = torch.sigmoid(self.gate_proj(context))  # (2b, L, D)
        return p + gate * ds
