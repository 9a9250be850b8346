"""Kreuzer-Skarke study: fetch and parse the reflexive 4-polytopes with 26 vertices (``v26.gz``)."""
