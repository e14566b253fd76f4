"""The index: words in tantivy, vectors in FAISS segments, one commit point, and updates from a corpus."""
