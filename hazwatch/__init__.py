"""hazwatch's shared core: what every package agrees on — the data model (readings, quality codes, alarm events),
the site-config model and registry, the InfluxDB contract (schema names and the one line-protocol encoder) and
the recording-file formats. It imports nothing else of ours."""

__version__ = "0.1.0"
