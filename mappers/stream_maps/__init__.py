"""mapper-stream-maps: singer-sdk's `stream_maps` as a standalone Singer mapper."""
