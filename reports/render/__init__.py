"""Rendering a report dataset as PDF (`pdf`), Excel (`excel`) or CSV (`csv`), with
the formatting they share (`formatting`); all three show the same numbers."""

from reports.render.files import FORMATS, RenderedFile, file_stem, render
from reports.render.formatting import format_change, format_value, inert_text, is_formula_like, period_text

__all__ = [
    "FORMATS",
    "RenderedFile",
    "file_stem",
    "format_change",
    "format_value",
    "inert_text",
    "is_formula_like",
    "period_text",
    "render",
]
