"""The enrichment plugins (integrations and their actions) and the formula sandbox; the
workers that run them are in ``claystack.server.engine``."""
