"""Server-rendered pages (Jinja2) for drivers, producers, hygiene officers and admins.

They call the same functions as the API routes (server/core/access.py for who sees what,
server/api/alerts.py for the alert lifecycle): no second copy of a rule."""
