"""The ``sessiontape`` command line: thin commands named like the library calls they make."""
