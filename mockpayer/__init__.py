"""payer-mirror's mock half: a 1upHealth-style health plan (OAuth server and FHIR R4 API) for offline work."""
