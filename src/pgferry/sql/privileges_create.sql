-- Whether the current role may create what a run creates in QA: the schema that
-- holds pgferry's journal (CREATE on the database), unless it exists already and
-- the role may create in it.
SELECT pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')
       OR (pg_catalog.to_regnamespace('pgferry') IS NOT NULL
           AND pg_catalog.has_schema_privilege('pgferry', 'CREATE')) AS may_create,
       current_user AS role,
       pg_catalog.current_database() AS dbname
