"""The operators' alarm console in the browser: summary, acknowledge, shelve, reset, history, live."""
