"""Faust's web server, read only: a creator's live state as the worker holds it.

``GET /campaignpulse/creators/{creator_id}/`` answers with the creator's open event-time
windows, its follower and spike state. Faust's ``topic_route`` sends the request on to
the worker that owns the creator's partition (the key's partition of ``ig.interactions``),
so any worker's port answers for every creator.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from campaignpulse.streams.contract import INTERACTIONS_TOPIC

if TYPE_CHECKING:
    from campaignpulse.worker.faust_engine import FaustWorker

CREATOR_PATH = "/campaignpulse/creators/{creator_id}/"


def add_views(worker: FaustWorker) -> None:
    app = worker.app
    interactions = app.topic(INTERACTIONS_TOPIC, key_serializer="raw", value_serializer="raw",
                             acks=False)

    @app.page(CREATOR_PATH, name="campaignpulse_creator")
    @app.topic_route(interactions, match_info="creator_id")
    async def creator(view: Any, request: Any, creator_id: str) -> Any:
        try:
            held = worker.pipeline.creator_view(creator_id)
        except RuntimeError:  # the host is not started yet
            return view.error(503, "starting")
        if held is None:
            return view.notfound(f"creator {creator_id} is not held by this worker")
        return view.json(held)
