"""bayqa: question-answering search over policy documents."""

__version__ = "0.1.0"
