"""Running trained models: the predictor, batched scoring, explanations and a look inside the networks."""
