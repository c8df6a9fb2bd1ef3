"""The one compiled part: chunk body version 3's packed integer groups (agent/seal/_packc.c),
and the one-pass checks of a grid flush's columns that the agent's loop and the chunk encoder
run on thousands of node ids and texts a second.

The agent's CPU on a 1,000-cell grid is mostly the chunk encoder, and packing was its largest
pure-Python loop; agent/seal/chunk_pack.py keeps the reference (and the decoder), and
tests/seal/test_packc.py holds the two to the same bytes. Everything else is in pyproject.toml.
`pip install` builds it with gcc and the Python headers (.ci/setup.sh installs both).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "agent.seal._packc",
            sources=["agent/seal/_packc.c"],
            extra_compile_args=["-O2", "-Wall", "-Werror"],
        )
    ]
)
