-- Loads begun and not finished: run, when, the tables it empties (a JSON list), the mode.
SELECT run_id, created_at, definition, name
FROM pgferry.journal
WHERE kind = 'load'
ORDER BY id
