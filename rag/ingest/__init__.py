"""News from the web: a page by link, a saved page, RSS/Atom feeds and news sitemaps, into the corpus.

`guard` says which addresses may be fetched, `fetch` gets a page within bounds, `extract` finds its article,
`pages` saves it through `rag.save_article`, `feeds` follows feeds with their state in the index folder.
"""
