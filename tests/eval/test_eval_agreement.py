"""Judge agreement (appendix A): Pearson on raw scores, MAE and variance after the threshold."""

from __future__ import annotations

import json
import math

import pytest

from imvideoedit.errors import UserError
from imvideoedit.eval.agreement import agreement_between_files, judge_agreement


def test_hand_computed_example():
    first, second = [2, 7, 8, 5, 9], [3, 6, 4, 6, 9]
    result = judge_agreement(first, second)  # accept at >= 6: [0,1,1,0,1] vs [0,1,0,1,1]
    assert result.items == 5 and result.threshold == 6.0
    assert result.pearson == pytest.approx(17.4 / math.sqrt(30.8 * 21.2))
    assert result.mae == pytest.approx(0.4) and result.variance == pytest.approx(0.24)
    assert result.agreement == pytest.approx(0.6)


def test_threshold_is_inclusive_and_configurable():
    assert judge_agreement([6, 1], [5.99, 1]).mae == 0.5  # 6 accepts, 5.99 rejects
    assert judge_agreement([6, 1], [5.99, 1], threshold=5.5).mae == 0.0


def test_constant_scores_have_no_pearson_and_bad_input_is_refused():
    assert judge_agreement([7, 7, 7], [1, 8, 9]).pearson is None
    with pytest.raises(UserError, match="equally long"):
        judge_agreement([1, 2], [1, 2, 3])
    with pytest.raises(UserError, match="at least 2"):
        judge_agreement([1], [1])
    with pytest.raises(UserError, match="finite"):
        judge_agreement([1, float("nan")], [1, 2])


def test_files_are_paired_by_id_and_unscored_items_left_out(tmp_path):
    a = tmp_path / "a.jsonl"
    b = tmp_path / "b.jsonl"
    a.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"id": "x", "score": 8},
                {"id": "y", "score": 2},
                {"id": "z", "score": None},
                {"id": "only_a", "score": 9},
            ]
        )
    )
    b.write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"case_id": "y", "score": 7},
                {"case_id": "x", "score": 9},
                {"case_id": "z", "score": 5},
            ]
        )
    )
    result, count_a, count_b = agreement_between_files(a, b)
    assert (result.items, count_a, count_b) == (2, 3, 3)
    assert result.mae == 0.5  # x: both accept; y: 2 rejects, 7 accepts
    b.write_text(json.dumps({"id": "x", "score": "high"}) + "\n")
    with pytest.raises(UserError, match="must be a number"):
        agreement_between_files(a, b)
    b.write_text(json.dumps({"id": "x", "score": 1}) + "\n" + json.dumps({"id": "x", "score": 2}) + "\n")
    with pytest.raises(UserError, match="more than once"):
        agreement_between_files(a, b)
