"""One search request answered: what a thread of the server process and a search process (api/pool.py) both run."""

from __future__ import annotations

import logging

from bayqa.api.errors import Failure, failure
from bayqa.api.schemas import ErrorOut, SearchRequest, SearchResponse
from bayqa.service import Service

log = logging.getLogger("bayqa.api")


def search_response(service: Service, body: SearchRequest) -> SearchResponse:
    """The answer to ``body``; the library's errors (NotReady, NotReached, QuestionError, UnknownDocuments) pass through."""
    reply = service.ask(body.q, k=body.k, doc_ids=body.doc_ids, mode=body.mode, min_generation=body.min_generation)
    return SearchResponse.from_reply(reply)


def search_json(service: Service, request_json: str) -> tuple[int, bytes]:
    """The HTTP status and JSON body of one search (what a search process of ``--workers N`` sends back)."""
    try:
        return 200, search_response(service, SearchRequest.model_validate_json(request_json)).model_dump_json().encode()
    except Exception as exc:
        answer = failure(exc)
        if answer is None:
            log.exception("unexpected error in a search")
            answer = Failure(500, "internal error; the server log has the details")
    return answer.status, ErrorOut(detail=answer.detail).model_dump_json().encode()
