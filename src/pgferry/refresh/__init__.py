"""The refresh of QA from production, as a pipeline of named steps.

- :mod:`.options`: what a run is told (:class:`MigrateOptions`, :class:`Strategy`);
- :mod:`.snapshot`: production read at one instant, by every worker;
- :mod:`.refusals`: what stops a run before it writes;
- :mod:`.aside`: what a load sets aside and how it empties the copy set, from the catalogs;
- :mod:`.streams`: the COPY streams from the snapshot into QA, in parallel;
- :mod:`.pipeline`: :class:`Refresh`, the steps, in order;
- :mod:`.outcome`: what a run did (:class:`MigrateReport`) and whether it verifies.

:func:`pgferry.migrate.migrate` runs the pipeline on QA; :mod:`pgferry.swap` runs it
on a sibling database and swaps it in.
"""
