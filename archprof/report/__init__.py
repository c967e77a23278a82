"""Renderers: they read the results DataFrame and produce text, tables or files' contents; they never compute costs."""
