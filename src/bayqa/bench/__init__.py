"""``bayqa bench``: how fast bayqa answers and indexes, side by side with LangChain's FAISS vector store.

Everything is measured in one run on one machine, so the ratios hold even when the machine is busy (absolute
milliseconds do not). Real SciFact abstracts are chunked and embedded for the indexing and quality figures; the
larger collections of the latency figures are replicas of those real chunks, each under a new id with its vector
jittered, since embedding 100k chunks would take hours. The output says which figures come from replicas.
``bayqa bench --updates`` times live updates instead (bayqa.bench.updates).

Only the command line imports this package; the library's own modules never do.
"""

from bayqa.bench.data import DataError
from bayqa.bench.report import table
from bayqa.bench.runner import Plan, main, run

__all__ = ["DataError", "Plan", "main", "run", "table"]
