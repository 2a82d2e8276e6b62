"""tests/server uses the shared app fixtures of tests/harness/app.py (registered in
tests/conftest.py): every test that takes `client` runs on SQLite and on PostgreSQL."""
