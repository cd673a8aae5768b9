"""reply-assist: draft replies to company reviews with a language model, under the rules."""

__version__ = "0.1.0"
