"""Reusable widgets: the live table, the confirmation and prompt modals."""
