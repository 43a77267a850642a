-- Which server and database this is, in words any role may read: the
-- postmaster's start (to the microsecond) and the database's OID and name
-- tell two clusters apart where the system identifier cannot be read; whether
-- this role may read it (server_system_identifier.sql) comes with them.
-- pg_control_system() is never named here: EXECUTE is checked when a
-- statement starts, so even an untaken CASE branch calling it fails.
SELECT pg_catalog.has_function_privilege('pg_catalog.pg_control_system()', 'EXECUTE')
           AS may_read_control,
       current_database() AS database,
       d.oid::bigint AS database_oid,
       pg_catalog.floor(pg_catalog.date_part('epoch', pg_catalog.pg_postmaster_start_time())
                        * 1000000)::bigint AS started_us
FROM pg_catalog.pg_database d
WHERE d.datname = current_database()
