"""Modbus source: register-map planning, vectorised response decoding and the asyncio poller."""
