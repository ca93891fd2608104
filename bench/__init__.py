"""Throughput benchmark: tapwell beside the raw limit, PipelineWise and MeltanoLabs, in one run."""
