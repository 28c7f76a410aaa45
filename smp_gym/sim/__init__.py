"""The only package (with ``smp_gym.envs``) that imports mjlab.

``MJLAB_WARP_QUIET`` defaults to on here so warp's per-kernel compile lines stay out of
training logs; set ``MJLAB_WARP_QUIET=0`` to see them.
"""

import os

os.environ.setdefault("MJLAB_WARP_QUIET", "1")
