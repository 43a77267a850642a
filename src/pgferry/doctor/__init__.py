"""``doctor``: explain a pasted error message from the live database, or check its health.

::

    from pgferry.doctor import diagnose, health

    with pgferry.connect(pgferry.resolve(None, role="db"), read_only=True) as conn:
        result = diagnose(conn, "Unique constraint failed on the fields: (`id`)")
    for finding in result.findings:
        print(finding.severity, finding.cause, finding.fix)

:func:`~pgferry.doctor.messages.recognise` reads the message (no database
needed); :func:`diagnose` then checks what the message names in the database;
:func:`health` checks everything, with no message.  Both only read.
"""

from .diagnose import diagnose, health
from .messages import Kind, Symptom, recognise
from .model import Diagnosis, Finding, Severity

__all__ = [
    "Diagnosis",
    "Finding",
    "Kind",
    "Severity",
    "Symptom",
    "diagnose",
    "health",
    "recognise",
]
