"""Search across sessions: extraction, the query language, backends, indexing from journals
or from the WORM vault. The index is a cache, always rebuildable from sealed journals."""
