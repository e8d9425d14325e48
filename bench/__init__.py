"""Benchmarks (``make bench`` / ``python -m bench.run``): what users feel, measured honestly.

A plain folder of scripts, importable as ``bench`` so that ``python -m bench.run`` works from
the repository root. It is not part of the installed package.
"""
