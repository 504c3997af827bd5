"""tinyhttp: a very small HTTP/1.1 toolkit."""
__version__ = "0.1.0"
