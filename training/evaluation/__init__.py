"""Measuring trained models: metrics, significance, behavioural checks, calibration, the reference, backend checks."""
