"""The Singer protocol, as tapwell speaks it: the wire format (exact numbers), the messages,
JSON Schema and the compiled record checks, the catalog and its selection metadata, bookmarks,
connector config and the error classes. Imports nothing else of tapwell."""
