"""``GET /documents`` and ``GET /documents/{id}``: what is indexed, and one document's text and passages."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from bayqa.api.schemas import DocumentDetail, DocumentList, ErrorOut
from bayqa.service import Service


def document_router(service: Service) -> APIRouter:
    router = APIRouter()

    @router.get("/documents", response_model=DocumentList, summary="What is indexed")
    def documents() -> DocumentList:
        return DocumentList.from_index(service.index)

    @router.get("/documents/{doc_id:path}", response_model=DocumentDetail, responses={404: {"model": ErrorOut}}, summary="One document")
    def document(doc_id: str) -> DocumentDetail:
        found = service.document(doc_id)
        if found is None:
            raise HTTPException(404, f"no document {doc_id!r} in the index; GET /documents lists them")
        return DocumentDetail.from_document(found)

    return router
