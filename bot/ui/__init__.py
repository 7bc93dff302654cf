"""Presentation: embeds, views, modals and DynamicItems, one module per feature."""
