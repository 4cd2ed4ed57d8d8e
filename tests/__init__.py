"""The test suite.

pytest rewrites the asserts of every test module, and of the whole ``claystack`` package
(the distribution of a pytest plugin, ``claystack.testing``), and caches the result as pyc
files next to them. With ``PYTHONDONTWRITEBYTECODE`` set it would parse, rewrite and compile
them again in every pytest process of every run: about 6 s of CPU per worker. This package
is imported before any of them (``conftest.py`` included), so the cache is written."""

import sys

sys.dont_write_bytecode = False
