"""Music study: OpenNeuro ds003720 (fMRI while listening to GTZAN clips) and its metadata."""
