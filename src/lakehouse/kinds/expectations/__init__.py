"""Data-quality expectations (spec/expectations.py) evaluated on every kind's batches, at one seam the
drivers call (screen.screened). Not a kind: it has no Kind member. docs/expectations.md."""
