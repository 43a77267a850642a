-- A large object the current role could not remove (lo_unlink needs its
-- owner's privileges, or a superuser, unless lo_compat_privileges is on).
SELECT m.oid, pg_catalog.pg_get_userbyid(m.lomowner) AS owner
FROM pg_catalog.pg_largeobject_metadata m
WHERE NOT pg_catalog.current_setting('lo_compat_privileges')::boolean
  AND NOT pg_catalog.pg_has_role(m.lomowner, 'USAGE')
ORDER BY m.oid
LIMIT 1
