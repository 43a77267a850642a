"""What keeps QA safe around a refresh: the checks before it (:mod:`.preflight`),
the backup taken first (:mod:`.backup`), the rollback to it (:mod:`.restore`),
and the database-level operations they share (:mod:`.databases`: template
copies, renames, sessions).  Each module is imported by its own name."""
