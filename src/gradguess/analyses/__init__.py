"""Measurements at fixed weights, one module per kind; they read weights and write rows, they never train.

- `guesses`: each method's guess against backprop's gradient along a trajectory (Figure 1)
- `averaging`: the mean of many guesses of one example (Figure 4, left)
- `jacobian`: singular values of the Jacobian through k layers (Figure 7, right)
"""
