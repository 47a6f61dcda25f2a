"""Phi, the 2D interaction operator (docs/adapter.md).

Source and target frames are laid side by side, `[target | source]`, and one 2D self-attention
runs over the joint H x 2W grid of each frame. Frames are folded into the batch, so no token ever
attends to another frame: the operator is purely spatial. Its attention is a copy of the block's
own `attn1` (a diffusers `WanAttention`), so it inherits the pretrained q/k/v/o and q/k RMSNorm,
and its processor goes through diffusers' attention dispatch: `set_attention_backend(...)` on the
transformer reaches it like any other attention layer.
"""

from __future__ import annotations

import copy

import torch
from torch import nn


class JointSpatialAttention(nn.Module):
    """2D self-attention over `[target | source]` per frame, with RoPE on the joint grid."""

    def __init__(self, attn1: nn.Module) -> None:
        super().__init__()
        # A copy of the block's self-attention (diffusers WanAttention): weights and processor.
        self.attn = copy.deepcopy(attn1)

    @staticmethod
    def joint_grid(hidden_states: torch.Tensor, grid: tuple[int, int, int]) -> torch.Tensor:
        """(2b, F*H*W, D), sources first -> (b*F, 2HW, D): each frame's `[target | source]` grid,
        row by row, the sequence the 2D attention runs over."""
        frames, height, width = grid
        b, dim = hidden_states.shape[0] // 2, hidden_states.shape[-1]
        source, target = hidden_states[:b], hidden_states[b:]  # (b, F*H*W, D) each

        def to_frames(x: torch.Tensor) -> torch.Tensor:
            return x.reshape(b * frames, height, width, dim)  # (b*F, H, W, D)

        joint = torch.cat([to_frames(target), to_frames(source)], dim=2)  # (b*F, H, 2W, D)
        return joint.reshape(b * frames, height * 2 * width, dim)  # (b*F, 2HW, D)

    def forward(
        self,
        hidden_states: torch.Tensor,
        grid: tuple[int, int, int],
        rotary_emb_2d: tuple[torch.Tensor, torch.Tensor],
    ) -> torch.Tensor:
        """hidden_states: (2b, F*H*W, D), sources first -> (2b, F*H*W, D).

        grid: the latent token grid (F, H, W) after patching.
        rotary_emb_2d: cos/sin (1, H*2W, 1, head_dim) for frame 0 of an H x 2W grid.
        """
        frames, height, width = grid
        two_b, seq_len, dim = hidden_states.shape
        b = two_b // 2
        joint = self.attn(
            hidden_states=self.joint_grid(hidden_states, grid), rotary_emb=rotary_emb_2d
        )  # (b*F, 2HW, D)
        joint = joint.reshape(b * frames, height, 2 * width, dim)  # (b*F, H, 2W, D)

        target_out = joint[:, :, :width].reshape(b, seq_len, dim)  # (b, F*H*W, D)
        source_out = joint[:, :, width:].reshape(b, seq_len, dim)  # (b, F*H*W, D)
        return torch.cat([source_out, target_out], dim=0)  # (2b, F*H*W, D)
