"""`dialer serve`: a node as a service. Many campaigns in one process, steered over an
HTTP API; the CLI's start/pause/resume/stop/status are its clients.

- events.py: the event bus (campaign and call events) that the API's stream reads, and
  that the dashboard, metrics and webhooks will read;
- tokens.py: the API's tokens and roles;
- managed.py, supervisor.py: the service core (campaigns as tasks, wanted states, live
  updates, the drain), knowing nothing of HTTP;
- status.py: a campaign's status as JSON (live from its runner, else from the store);
- http_api.py, http_auth.py, http_streams.py: the HTTP API (FastAPI);
- serve.py: the process (store, node, supervisor, HTTP server, signals);
- client.py: the CLI's side of the API.
"""
