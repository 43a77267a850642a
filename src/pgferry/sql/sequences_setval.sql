-- Set a batch of sequences so that each one's next nextval() returns the given
-- value.  Parameters: the sequences' oids (oid[]) and their next values (bigint[]).
SELECT pg_catalog.setval(t.seq::regclass, t.next_value, false)
FROM unnest(%s::oid[], %s::bigint[]) AS t(seq, next_value)
