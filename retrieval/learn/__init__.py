"""Training the ranker: candidate features from a question set, models fitted by folds."""
