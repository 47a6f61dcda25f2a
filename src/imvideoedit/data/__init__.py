"""Training data: the pair-folder format, its validation, and preprocessing into a latent cache.

tasks          the paper's ten editing task categories (appendix B)
metadata       reading and writing the metadata file (`metadata.jsonl` / `.csv`, ViFeEdit's CSV)
images         decoding one image as 8-bit RGB, normalising grayscale/alpha/16-bit/CMYK/EXIF
validation     checking every row before anything is encoded (`imvideoedit data check`)
buckets        aspect-ratio buckets and the shared resize + crop of a pair
latent_cache   VAE latents and prompt embeddings computed once, stored as safetensors shards
"""
