"""Benchmark tables (markdown, CSV) generated from the metrics files of the stages."""
