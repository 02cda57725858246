"""A rendered report file: its name, bytes and MIME type, in any of the formats."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from reports.datasets import ReportDataset
from reports.render.csv import render_csv
from reports.render.excel import render_xlsx
from reports.render.pdf import render_pdf

RENDERERS: dict[str, tuple[Callable[[ReportDataset], bytes], str]] = {
    "pdf": (render_pdf, "pdf"),
    "excel": (render_xlsx, "xlsx"),
    "csv": (render_csv, "zip"),
}
"""Each format a schedule can ask for: its renderer and its file extension."""
FORMATS = tuple(RENDERERS)
MIME_TYPES = {  # by file extension
    "pdf": ("application", "pdf"),
    "xlsx": ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "zip": ("application", "zip"),
}


@dataclass(frozen=True)
class RenderedFile:
    file_name: str
    content: bytes
    format: str
    rows: int

    @property
    def mime_type(self) -> tuple[str, str]:
        return MIME_TYPES[self.file_name.rsplit(".", 1)[-1]]


def file_stem(dataset: ReportDataset, name: str | None = None) -> str:
    """e.g. `weekly-revenue_2026-W27`: the schedule (or report type) and the period."""
    slug = re.sub(r"[^a-z0-9]+", "-", (name or dataset.report_type).lower()).strip("-") or dataset.report_type
    return f"{slug}_{dataset.period.label()}"


def render(dataset: ReportDataset, fmt: str, name: str | None = None) -> RenderedFile:
    """The report file of a dataset in one of FORMATS, named after the schedule
    `name` (or the report type) and the period."""
    renderer, extension = RENDERERS[fmt]
    return RenderedFile(f"{file_stem(dataset, name)}.{extension}", renderer(dataset), fmt, dataset.rows)
