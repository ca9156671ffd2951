"""Command-line access to Dify servers, with one named profile per environment."""

__version__ = "0.1.0"
