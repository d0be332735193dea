"""Edition rules that go beyond the schema, each in its own module, called from
:func:`editio.check.check` (one call per module)."""
