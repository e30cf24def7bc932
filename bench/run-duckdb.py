#!/usr/bin/env python3
"""bench/run-duckdb.py SQL — run one DuckDB statement (a COPY ... TO for the
bench rows), the way a user runs DuckDB from a script: start, query, write.

compare.sh installs the `duckdb` Python package (2.0) into
$FKIT_PEERS/duckdb (default /work/peers/duckdb) and puts it on PYTHONPATH; DuckDB uses every core.
"""
import sys

import duckdb

duckdb.sql(sys.argv[1])
