"""Do the books balance? Both sides' buckets, the report and the background check."""
