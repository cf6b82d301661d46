"""Turning run artifacts into the paper's tables and figures (Figure 1, Table 2, Figures 3 and 11); the paper's own
numbers (paper.py, paper_numbers.yaml) and its claims as checks of our artifacts (claims.py)."""
