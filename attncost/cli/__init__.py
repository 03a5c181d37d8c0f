"""The click command-line interface: parse, call the API, format. No logic the API lacks."""
