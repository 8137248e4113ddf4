"""Benchmarks of the course: run with ``python -m benchmarks [--quick]``.

Each section module has ``run(quick, out)`` that measures, saves its charts
into the folder ``out`` and returns its part of BENCHMARKS.md as Markdown.
"""
