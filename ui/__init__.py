"""The web chat over the `rag` library: `ui.app.serve` (used by `rag serve`) and `ui.app.build_app` for tests."""
