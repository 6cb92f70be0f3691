"""Qdrant as the store searches read their candidates from (``BAYQA_STORE=qdrant``), for collections that outgrow
one machine: points (points.py), the two editions of the engine (engines.py), and keeping a collection in step with
the index folder and reading from it (mirror.py). Needs the ``qdrant`` extra."""

from bayqa.qdrant.engines import ALIAS, EdgeEngine, ServerEngine, engine_at
from bayqa.qdrant.mirror import QdrantCandidates, QdrantMirror, collection_of

__all__ = ["ALIAS", "EdgeEngine", "QdrantCandidates", "QdrantMirror", "ServerEngine", "collection_of", "engine_at"]
