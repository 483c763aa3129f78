"""Pages a patient reads: `pages` (the Flask blueprint), `claims` and `records` (FHIR in plain words),
`readable` (safe getters for displays and names)."""
