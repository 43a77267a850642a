"""The refresh of QA from production, as a pipeline of named steps.

- :mod:`.options`: what a run is told (:class:`MigrateOptions`, :class:`Strategy`);
- :mod:`.aside`: what a load sets aside and how it empties the copy set, from the catalogs;
- :mod:`.pipeline`: :class:`Refresh`, the steps, in order;
- :mod:`.outcome`: what a run did (:class:`MigrateReport`) and whether it verifies.

:func:`pgferry.migrate.migrate` runs the pipeline on QA; :mod:`pgferry.swap` runs it
on a sibling database and swaps it in.
"""
