"""Building training pairs the paper's way (section 3): scenes, prompts, images, filtering, review.

    imvideoedit data build CONFIG --stage scenes|prompts|images|filter|review|export|all

Modules, in the order the data flows through them:

    config        the build config: typed sections, every default once, TOML/YAML
    lists         the editable environment and condition lists (defaults in lists/)
    scenes        1. environments x sampled conditions, judged for plausibility by a model
    prompts       2. per (scene, task): source prompt, full edited prompt, instruction
    images        3. source by a text-to-image pipeline, target by an image-edit pipeline
    pair_filter   4. three 0-10 scores per pair from a vision-language judge
    review        5. a local web page for people to accept or reject pairs
    export        6. the accepted pairs as a training dataset, with stats and a chart
    build         runs one stage or all of them

Shared pieces: `records` (append-only stage files; how resuming works), `layout` (file names),
`ids` (stable ids, seeds and shards), `item_runner` (concurrent model calls), `backends`
(chat models from the config, through `imvideoedit.vlm`), `pipelines` (diffusers), `report`
(stats and chart).
"""
