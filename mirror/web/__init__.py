"""The patient pages, gathered in one package so the app registers them in one place.

Pages a patient reads: `pages` (the Flask blueprint), `claims` and `records` (FHIR in plain words),
`readable` (safe getters for displays and names)."""
