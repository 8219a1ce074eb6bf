"""Unit tests for the post-processing chain: each processor with before/after text."""
