"""The command line on top of everything: ``faq-bot`` and ``python -m bot``."""
