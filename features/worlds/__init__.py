"""Worlds to judge models on: our generator varied, and generators unlike it."""
