"""The strain world: a second synthetic generator whose latent structure is unlike ours.

Why: a model choice tuned on one generator may win by that generator's habits; this
world hangs everything on a different latent process (a 12-level household strain
ladder moved by Poisson shocks, chronic drift and recovery; gamma frailty; a
threshold-shaped hazard; sources with their own visibility; heavy-tailed recording
lags and backlogs) and still has an exact oracle. See ``generate.generate_strain``.
"""

from features.worlds.strain.generate import OutputFolderError, build_world, generate_strain
from features.worlds.strain.params import StrainParams

__all__ = ["OutputFolderError", "StrainParams", "build_world", "generate_strain"]
