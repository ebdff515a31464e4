"""Environment profiles: the schema, validation with file/line/field errors, loading and ${VAR}."""
