"""FHIR R4 knowledge shared by the mirror and the mock payer: pure functions, no I/O, no global state."""
