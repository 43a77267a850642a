-- The settings that size the server's shared lock table, which holds
-- max_locks_per_transaction * (max_connections + max_prepared_transactions)
-- locked objects for all sessions together.
SELECT pg_catalog.current_setting('max_locks_per_transaction')::int AS max_locks_per_transaction,
       pg_catalog.current_setting('max_connections')::int AS max_connections,
       pg_catalog.current_setting('max_prepared_transactions')::int AS max_prepared_transactions
