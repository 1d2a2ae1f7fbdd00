"""The captive portal (Flask): one click, no ID, RFC 8908 API."""
