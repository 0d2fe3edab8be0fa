"""Image I/O and colour conversions: the ground floor every other part reads and writes pixels through."""
