"""Peak memory as the trainer reports it: what the accelerator's allocator or the process used.

On CUDA this is `torch.cuda.max_memory_allocated` (tensors only: the figure `imvideoedit info`
estimates, without the allocator's cache); on the CPU it is the process's peak resident set size
(everything the process touched, Python and libraries included).
"""

from __future__ import annotations

import resource
import sys

import torch

GIB = 1024**3


def peak_memory_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        return int(torch.cuda.max_memory_allocated(device))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(peak if sys.platform == "darwin" else peak * 1024)  # bytes on macOS, KiB on Linux


def memory_kind(device: torch.device) -> str:
    return "CUDA max allocated" if device.type == "cuda" else "process peak RSS"


def reset_peak_memory(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)


def format_gib(num_bytes: int) -> str:
    return f"{num_bytes / GIB:.2f} GiB"
