"""target-jsonl: Singer streams into one JSON-lines file per stream."""
