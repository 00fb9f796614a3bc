"""Small helpers with no knowledge of praxis: atomic files, hashing."""
