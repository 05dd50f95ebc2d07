"""Distillation: the transformer teacher, its transfer set, and how closely students follow it."""
