"""Text that must appear inside SQL, quoted by DuckDB's own rules: the one place that turns text into SQL.

Values reach DuckDB as bound parameters wherever a statement takes them. A few statements take none
(ATTACH, COMMENT ON, CREATE SECRET), and catalog names are identifiers, not values: those go through
here. A path, a setting or a provider's text never becomes SQL any other way, so a `'`, a `;` or a
`--` in a folder name is just a character of that name.
"""

from __future__ import annotations

import duckdb


def literal(text: str) -> str:
    """`text` as a SQL string literal, quoted by DuckDB itself (its constant expression's SQL form)."""
    return str(duckdb.ConstantExpression(str(text)))


def identifier(name: str) -> str:
    """A catalog, schema or table name as a quoted SQL identifier (DuckDB names a database after its file)."""
    return '"' + name.replace('"', '""') + '"'
