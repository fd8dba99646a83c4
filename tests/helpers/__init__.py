"""What test folders share: campaigns and runs against a fast sandbox (``runs``), hostile APIs
(``hostile``), journal stores in child processes (``stores``), a real PostgreSQL server
(``pgserver``), a misbehaving file server (``file_server``), a headless browser (``browser``),
and each concern's own helpers.

A package on the path of every test: ``tests/`` holds the root ``conftest.py``, so pytest
puts it on ``sys.path`` (its default "prepend" import mode). No test edits ``sys.path``;
a child process a test starts is given ``tests/`` in ``PYTHONPATH`` (``stores.child``).
"""
