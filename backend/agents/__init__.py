"""Junjo executables: Agent runs (list, detail), execution resolution and trace evidence."""
