"""The HTTP API's pieces: dependencies, routes and middleware; ``server.py`` assembles them."""
