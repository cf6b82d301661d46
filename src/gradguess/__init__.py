"""gradguess: gradient-guessing estimators from 'How to Guess a Gradient' and the tools to reproduce it."""
__version__ = "0.1.0"
