"""The worker: engines (the native aiokafka loop) hosting the pure pipeline, its outputs,
its checkpoint to the state changelog and the definitions feed. All Kafka code is here."""
