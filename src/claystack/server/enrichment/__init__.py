"""The enrichment engine: integrations (plugins), the run queue and its workers."""
