"""Reporting: notes and records, feedback pages, grades CSV and the course summary."""
