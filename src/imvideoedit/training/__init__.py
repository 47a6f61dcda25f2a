"""Training the adapter from image pairs (`imvideoedit train`).

config            typed configuration sections, TOML/YAML loading, --set overrides
model_setup       the frozen base + adapter, AdamW (or 8-bit AdamW), warmup + schedule
batch_order       bucketed micro-batches in a seeded order addressable by position
batches           cache entries -> batch -> rectified-flow loss on the target half
checkpoints       atomic checkpoints and exact resume
validation_edits  periodic edits of a few pairs (and a video), logged as images
memory            the peak-memory figure the trainer reports
trainer           the loop itself: `train(config, resume=False)`
"""
