"""Evaluation harnesses runnable from the CLI (`recassist eval ...`)."""
