"""`coldchain demo`: three cooperatives, two shared vans and four producers through a scripted
day, on the real system (broker, gateway, alert worker, server) with simulated probes running
the real firmware under MicroPython. The day is data (day.py); seed.py registers everyone
through the HTTP API; probes.py runs the probes; coldchain/commands/demo.py drives it all."""
