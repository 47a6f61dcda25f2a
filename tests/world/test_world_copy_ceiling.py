"""The copy-ceiling benchmark's identity pairs: each pair's source frame is its own target, with
its own caption, and the folder is a valid pair folder the trainer reads."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from PIL import Image

from imvideoedit.data.metadata import read_pair_table
from imvideoedit.world.pairs import write_training_pairs

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "world_copy_ceiling.py"


def _identity_pairs():
    spec = importlib.util.spec_from_file_location("world_copy_ceiling", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.identity_pairs


def test_identity_pairs_copy_each_source_and_its_caption(tmp_path):
    pairs = write_training_pairs(tmp_path / "pairs", 4)
    identity = read_pair_table(_identity_pairs()(pairs, tmp_path / "identity"))
    edits = read_pair_table(pairs)
    assert len(identity.rows) == len(edits.rows) == 4
    for row, edit in zip(identity.rows, edits.rows, strict=True):
        assert row.source == row.target == edit.source
        assert row.prompt == edit.source_prompt != edit.prompt  # the source caption, not the edit's
        source = np.asarray(Image.open(identity.root / row.source))
        assert np.array_equal(source, np.asarray(Image.open(pairs / edit.source)))
