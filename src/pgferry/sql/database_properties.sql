-- What a database carries outside its own files and so does not follow a
-- copy made with CREATE DATABASE ... TEMPLATE: settings (ALTER DATABASE ...
-- SET, ALTER ROLE ... IN DATABASE ... SET), privileges, the comment and the
-- connection limit.
-- kind: 'setting' (role may be NULL), 'grant' (role NULL = PUBLIC), 'acl'
-- (the database has its own privileges), 'comment', 'connlimit'.
-- Parameter: the database's name.
SELECT 'setting' AS kind, r.rolname AS role, c.setting AS value, NULL::text AS extra
FROM pg_catalog.pg_database d
JOIN pg_catalog.pg_db_role_setting s ON s.setdatabase = d.oid
CROSS JOIN LATERAL unnest(s.setconfig) AS c(setting)
LEFT JOIN pg_catalog.pg_roles r ON r.oid = s.setrole
WHERE d.datname = %(db)s
UNION ALL
SELECT 'acl', NULL, NULL, NULL
FROM pg_catalog.pg_database d
WHERE d.datname = %(db)s AND d.datacl IS NOT NULL
UNION ALL
SELECT 'grant', r.rolname, a.privilege_type, CASE WHEN a.is_grantable THEN 'yes' END
FROM pg_catalog.pg_database d
CROSS JOIN LATERAL pg_catalog.aclexplode(d.datacl) AS a
LEFT JOIN pg_catalog.pg_roles r ON r.oid = a.grantee
WHERE d.datname = %(db)s AND a.grantee <> d.datdba
UNION ALL
SELECT 'comment', NULL, pg_catalog.shobj_description(d.oid, 'pg_database'), NULL
FROM pg_catalog.pg_database d
WHERE d.datname = %(db)s AND pg_catalog.shobj_description(d.oid, 'pg_database') IS NOT NULL
UNION ALL
SELECT 'connlimit', NULL, d.datconnlimit::text, NULL
FROM pg_catalog.pg_database d
WHERE d.datname = %(db)s AND d.datconnlimit <> -1
