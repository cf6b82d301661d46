"""Turning run artifacts into the paper's tables and figures (Figure 1, Table 2, Figures 3 and 11)."""
