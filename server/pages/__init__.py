"""Server-rendered pages (Jinja2) for drivers, producers, hygiene officers and admins.

They call the same services as the API routes (server/core/access.py for who sees what,
server/domain/ for the rules, server/alerting/actions.py for the alert lifecycle, records
for sealing) and never the API's route modules: no second copy of a rule. The list of page
modules is server/pages/app.py's PAGES."""
