"""The alternatives hazwatch is measured against: per-reading pure Python and River anomaly scoring."""
