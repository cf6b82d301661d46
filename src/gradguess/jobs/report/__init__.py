"""The report jobs: one module per table or figure (and the comparison, paper_figures' README, the
gathered runs, the summary in docs/results.md)."""
