"""Dataset tooling: import, map, pseudo-label, check, dedupe, split, stats, export."""
