-- An object is back in place: forget it (same transaction as putting it back).
DELETE FROM pgferry.journal WHERE id = %s
