"""Metrics shared by both studies."""
