"""The store: the database (tables, migrations), the durable intake and the workers that answer from it."""
