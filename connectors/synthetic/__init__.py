"""A seeded synthetic county: every source system's export plus the ground truth.

Use :func:`generate` to write one county's household register, incidents, student
registry, health records and village screening forms (with realistic noise) and the true
persons, relationships and record-to-person mapping to score connectors and entity
resolution against. The file layouts are documented in ``FORMATS.md`` beside this file.
"""

from connectors.synthetic.generator import OUTPUT_DIRS, SYSTEMS, GenerationSummary, generate
from connectors.synthetic.noise import NOISE_KINDS, NoiseRates
from connectors.synthetic.population import DEFAULT_AS_OF

__all__ = [
    "DEFAULT_AS_OF",
    "NOISE_KINDS",
    "OUTPUT_DIRS",
    "SYSTEMS",
    "GenerationSummary",
    "NoiseRates",
    "generate",
]
