"""Storage: settings, engine and sessions, models, schema migrations, maintenance."""
