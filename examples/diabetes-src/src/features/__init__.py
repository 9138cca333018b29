"""A helper package next to score.py: the request's rows as the model's features."""
