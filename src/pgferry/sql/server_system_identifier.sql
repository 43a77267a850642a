-- The cluster's system identifier, unique per initdb: only where the role may
-- execute pg_control_system() (see server_identity.sql).
SELECT system_identifier FROM pg_catalog.pg_control_system()
