"""The pure core: contract, windows, spikes, campaigns, state; no Kafka, no ClickHouse."""
