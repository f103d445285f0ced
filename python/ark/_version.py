"""The version of the ark Python package (kept in step with CMakeLists.txt's project version)."""

__version__ = "0.1.0"
