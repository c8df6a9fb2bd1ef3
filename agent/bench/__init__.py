"""Benchmarks: what sessiontape costs the page, the agent, the disk and the reader.

One module per benchmark, each reached as ``sessiontape bench <name>``: ``capture``,
``busy``, ``journal``, ``mask``, ``replay`` and ``search`` (``index.py``). Product code never
imports this package; only ``agent.cli.bench`` and the tests do. Pages a benchmark serves ship
in ``pages/``. The method is in ``README.md`` beside this file.
"""
