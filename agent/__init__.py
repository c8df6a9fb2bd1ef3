"""sessiontape: compliance-grade browser session recorder.

Pipeline: capture -> mask -> journal -> seal -> ship -> index -> replay.
`agent.pipeline` is the one module that knows the order.
"""

__version__ = "0.1.0"
