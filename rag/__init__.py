"""Question answering over Russian news articles: hybrid retrieval and verbatim quotes with offsets.

    import rag
    rag.build_index(corpus="corpus", index="index")
    rag.answer("Со сколькими государствами у Казахстана дипломатические отношения?").answer
    rag.answer("А с какого года?", history=["Где участвуют казахстанские миротворцы?"]).understood
    rag.answer("О чём статья?").summary.sentences
    rag.retrieve("военные расходы", k=3)[0].text
    rag.add_url("https://example.org/news/1", corpus="corpus", index="index").path  # a web page, indexed
"""

from rag.search.answer import Answer, answer, retrieve
from rag.articles import (
    Added, ArticleInfo, ArticleText, add_article, article_text, list_articles, remove_article, replace_article, save_article,
)
from rag.feedback import record_feedback
from rag.errors import IndexBusy, IndexDamaged, IndexMissing, ModelMismatch, ModelUnavailable, RagError
from rag.index.update import BuildReport, build_index
from rag.search.retriever import Passage
from rag.search.summary import Summary

__all__ = [
    "Added", "Answer", "ArticleInfo", "ArticleText", "BuildReport", "IndexBusy", "IndexDamaged", "IndexMissing", "ModelMismatch",
    "ModelUnavailable", "Passage", "RagError", "Summary", "add_article", "add_html", "add_url", "answer", "article_text", "build_index",
    "list_articles", "record_feedback", "remove_article", "replace_article", "retrieve", "save_article",
]

_WEB = ("add_html", "add_url")
"""From `rag.ingest.pages`, imported on first use: its HTTP and extraction libraries cost a one-off
`rag ask` 0.2 s."""


def __getattr__(name: str):
    if name in _WEB:
        from rag.ingest import pages

        return getattr(pages, name)
    raise AttributeError(f"module 'rag' has no attribute {name!r}")
