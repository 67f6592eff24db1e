"""Warehouse adapters: the ClickHouse schema and idempotent, versioned writes."""
