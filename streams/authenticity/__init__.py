"""Is this engagement real? Engagement pods, bots and copy-paste comments, fake audiences.

Pure core: no Kafka, ClickHouse or settings. ``stage.AuthenticityStage`` is what a
worker calls per micro-batch; every operator keeps its state as plain msgspec Structs
per key (account, media, text band, creator), bounded by event time and by caps.
"""
