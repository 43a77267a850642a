-- A kept foreign key has been dropped (same transaction): it is now set aside like any other.
UPDATE pgferry.journal SET kind = 'fk' WHERE id = %s
