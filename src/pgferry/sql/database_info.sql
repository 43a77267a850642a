-- One database seen from the maintenance database: who owns it, its size, and
-- what the current role may do with it (CREATE DATABASE ... TEMPLATE needs
-- superuser, or CREATEDB and ownership of the template).
-- Parameter: the database's name.
SELECT d.oid,
       pg_catalog.pg_get_userbyid(d.datdba) AS owner,
       pg_catalog.pg_database_size(d.oid) AS size,
       r.rolsuper,
       r.rolcreatedb,
       pg_catalog.pg_has_role(d.datdba, 'USAGE') AS owns,
       current_user AS role,
       pg_catalog.current_setting('server_version_num')::int AS server_version,
       pg_catalog.pg_encoding_to_char(d.encoding) AS encoding,
       d.datcollate,
       d.datctype,
       r.rolsuper OR pg_catalog.pg_has_role('pg_signal_backend', 'USAGE') AS may_signal,
       -- locale provider and its locale: columns of PostgreSQL 15+ (datlocale from 17,
       -- daticulocale before), read through jsonb so one query serves every version
       coalesce(pg_catalog.to_jsonb(d) ->> 'datlocprovider', 'c') AS locale_provider,
       coalesce(pg_catalog.to_jsonb(d) ->> 'datlocale', pg_catalog.to_jsonb(d) ->> 'daticulocale')
           AS provider_locale
FROM pg_catalog.pg_database d
CROSS JOIN pg_catalog.pg_roles r
WHERE d.datname = %s
  AND r.rolname = current_user
