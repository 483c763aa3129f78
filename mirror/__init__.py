"""payer-mirror's client half: connect to a health plan, keep a private local copy, serve it back."""
