-- A load is whole: its kept foreign keys hold (production's snapshot satisfies them), and
-- the load, with any earlier unfinished one whose tables it emptied again, is over.
DELETE FROM pgferry.journal
WHERE (kind = 'kept' AND run_id = %(run)s)
   OR (kind = 'load' AND (run_id = %(run)s
       OR NOT EXISTS (
           SELECT FROM jsonb_array_elements_text(definition::jsonb) AS t(name)
           WHERE t.name <> ALL (%(tables)s)
       )))
