"""Stream processing: the pure core (contract, windows, engagement) and its Kafka runtime."""
