"""The report jobs: one module per table or figure (and the comparison, the README, the gathered runs)."""
