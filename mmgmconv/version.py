"""The package version, in one place: ``setup.py`` and the manual's
``docs/conf.py`` read this file without importing the package,
``mmgmconv.__version__`` imports it, and the metafiles' ``Code: Version``
must name it (tests/test_version.py)."""
__version__ = '0.1.0'
