"""The package version, in one place: ``setup.py`` reads this file without
importing the package, ``mmgmconv.__version__`` imports it, and the
metafiles' ``Code: Version`` must name it (tests/test_version.py)."""
__version__ = '0.1.0'
