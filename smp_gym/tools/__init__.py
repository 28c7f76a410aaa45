"""Tooling around the core: benchmarks, learning curves, figures, rendering, policy bundles,
training helpers, data fetch and the priors' MANIFEST builder.

The core (``smp_gym`` outside ``tools/``, ``cli.py`` and ``adapters/``) never imports this
package; import-linter holds that (``[tool.importlinter]`` in pyproject.toml).
"""
