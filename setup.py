"""The compiled parts of ingestion: the OTLP fast path (ingestion/_fastconvert.c) and the
segment reader the cold flush and hot snapshot use (ingestion/_segread.c).

Everything else is declared in pyproject.toml. `pip install -e .` builds the extensions, and so
does `make` (`python setup.py build_ext --inplace`) whenever a C source changes. Without a C
compiler the service still runs, on the slower pure-Python converter and segment reader, and says
so in its start-up log.
"""

from setuptools import Extension, setup

_FLAGS = ["-std=c11", "-Wall", "-Wextra", "-Wno-missing-field-initializers"]

setup(
    ext_modules=[
        # optional: without a compiler, a warning, and the Python paths do the work
        Extension(
            "ingestion._fastconvert", ["ingestion/_fastconvert.c"], optional=True, extra_compile_args=_FLAGS
        ),
        Extension(
            "ingestion._segread",
            ["ingestion/_segread.c"],
            optional=True,
            extra_compile_args=[*_FLAGS, "-D_GNU_SOURCE"],
        ),
    ]
)
