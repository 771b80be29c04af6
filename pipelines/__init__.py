"""callhouse: call-detail records from vendor APIs into a warehouse, and the views built on them."""

from typing import TypeAlias

# A value as a vendor's JSON body parses: the type for data whose shape the vendor decides (and
# the sandbox serves). Here, at the package's root, because every layer and the sandbox (which
# imports nothing else of the pipeline) use it.
JSON: TypeAlias = dict[str, "JSON"] | list["JSON"] | str | int | float | bool | None
