"""corpus-curator: Common Crawl and code in, filtered, deduplicated, mixed, tokenized shards out."""

__version__ = "0.1.0"
