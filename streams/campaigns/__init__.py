"""Campaign definitions and their KPIs: pure core, no Kafka or ClickHouse."""
