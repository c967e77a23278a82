"""Built-in specs, shipped as Markdown data files (see the README for the grammar)."""
