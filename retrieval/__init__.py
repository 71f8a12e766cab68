"""The corpus, the index on disk, search, choosing quotes, and the evaluation harness."""
