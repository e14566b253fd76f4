"""Answering from an index: candidate passages, their fused scores, key quotes, the answer."""
