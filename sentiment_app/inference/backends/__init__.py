"""What runs a model besides eager PyTorch: ONNX Runtime and bfloat16, and the bar they must pass."""
