-- Which server and database this is: the system identifier is unique per
-- cluster (initdb), so equal (identifier, database) on both sides means the
-- target is the source.  NULL where the role may not call pg_control_system().
SELECT CASE WHEN pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier FROM pg_catalog.pg_control_system()) END
           AS system_identifier,
       current_database() AS database
