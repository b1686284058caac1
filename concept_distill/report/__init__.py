"""Run directories and reports."""

from concept_distill.report.run_dir import RunDirectory

__all__ = ["RunDirectory"]
