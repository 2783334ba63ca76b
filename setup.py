"""The one compiled part: ingestion's OTLP fast path (ingestion/_fastconvert.c).

Everything else is declared in pyproject.toml. `pip install -e .` builds the extension, and so does
`make` (`python setup.py build_ext --inplace`) whenever the C source changes. Without a C compiler
the service still runs, on the slower pure-Python converter, and says so in its start-up log.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "ingestion._fastconvert", ["ingestion/_fastconvert.c"],
    optional=True,  # no compiler: a warning, and the Python path does the work
    extra_compile_args=["-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"],
)])
