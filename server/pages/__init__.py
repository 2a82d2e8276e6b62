"""Server-rendered pages (Jinja2) for drivers, producers, hygiene officers and admins.

They call the same functions as the API routes (server/access.py for who sees what,
server/alerting/routes.py for the alert lifecycle): no second copy of a rule."""
