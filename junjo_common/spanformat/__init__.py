"""The span storage format, versioned apart from the services (Grafana Tempo's habit).

`CURRENT` is what writers produce today; readers accept every version listed here.
"""

from junjo_common.spanformat import v1

CURRENT = v1
VERSIONS = {v1.FORMAT_VERSION: v1}

__all__ = ["CURRENT", "VERSIONS", "v1"]
