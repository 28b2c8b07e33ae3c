"""Locations below a root, built from names that come from specs, files and the command line.

A table, schema, landing folder or file name is joined below its root only when no part of it can
leave that root: no '..' or '.' part, no absolute path, no URI scheme, no backslash (a Windows
separator on a share), no empty part and no NUL. A name that breaks the rule is a ConfigError
naming it, never a file written or deleted somewhere else.
"""

from __future__ import annotations

from lakehouse.core.errors import ConfigError


def unsafe_reason(name: str) -> str | None:
    """Why `name` (one or more '/'-separated parts) cannot be joined below a root, or None."""
    if not name:
        return "it is empty"
    if "\x00" in name:
        return "it holds a NUL byte"
    if "://" in name:
        return "it is a URI, not a name"
    if "\\" in name:
        return "it holds a backslash"
    if name.startswith("/"):
        return "it is an absolute path"
    parts = name.split("/")
    if any(part in ("..", ".") for part in parts):
        return "it holds a '..' or '.' part"
    if any(not part for part in parts):
        return "it holds an empty part ('//' or a trailing '/')"
    return None


def join_under(root: str, *names: str, what: str = "name") -> str:
    """`root/name1/name2...`, or ConfigError when a name could leave `root`."""
    for name in names:
        reason = unsafe_reason(name)
        if reason is not None:
            raise ConfigError(f"The {what} {name!r} cannot be used below {root}: {reason}.",
                              hint="use plain names such as customer or bronze/customer_raw: letters, digits, "
                                   "'_', '-' and '.' inside a part, parts joined by '/'")
    return "/".join([root.rstrip("/"), *names])
