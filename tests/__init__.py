"""The template's own tests."""
