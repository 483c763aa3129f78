"""HTTP code the mirror and the mock payer share: the WSGI server, host trust, FHIR over Flask, the mock's sign-in.

The mock imports from `mirror` only this package and `mirror/fhir/`. A command's quiet end when its reader
leaves (closed_pipe.py) is here too, as both programs' commands need it.
"""
