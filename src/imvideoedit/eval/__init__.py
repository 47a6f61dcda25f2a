"""Evaluation of video edits: the paper's VLM judge, objective metrics, reports, judge agreement.

Modules, in the order a run uses them:

    spec.py              the benchmark: cases (JSONL) and per-method folders of edited videos
    judge_prompt.py      the judge's instructions (built-in or a user's file) and their version
    rubric.py            the four dimensions, their maxima, and validation of the judge's answer
    judge.py             judging every (method, case), with repairs, backoff, cache, coverage
    result_cache.py      finished results on disk, keyed by what determines them (resume)
    flow.py              OpenCV Farneback optical flow and warping
    objective_metrics.py warp error, flicker, motion fidelity, dynamic degree, structure (SSIM)
    vbench_dimensions.py VBench's feature-model dimensions from local weights, else unavailable
    metrics_runner.py    all metrics over a benchmark, sources included, cached
    aggregate.py         means per task and dimension, coverage
    tables.py            tables rendered as Markdown and CSV
    jsonl.py             results files, one JSON object a line, written atomically
    published.py         the paper's published numbers
    report.py            the paper's table layouts, comparison rows, a PNG chart
    agreement.py         agreement between two judges (appendix A)
"""
