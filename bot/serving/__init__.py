"""Serving the FAQ engine: the holder every part shares, reloading new revisions, replicas, the Hub webhook."""
