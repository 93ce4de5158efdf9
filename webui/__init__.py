"""Flask adapter: the application factory, the JSON API, error mapping and the ``serve`` command."""
