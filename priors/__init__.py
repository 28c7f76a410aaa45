"""Shipped motion priors (data files) and their MANIFEST.json; see docs/priors.md."""
