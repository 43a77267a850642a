-- How many large objects the database holds.
SELECT count(*) FROM pg_catalog.pg_largeobject_metadata
