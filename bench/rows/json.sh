# Rows for `fkit json` (sourced by bench/compare.sh): against jq (Debian)
# and jaq (cargo-installed outside the repo, into $PEERS, when missing).
json=$corpus/data.json
ndjson=$corpus/data.ndjson
jsize=$(stat -c %s "$json")
nsize=$(stat -c %s "$ndjson")
need jq jq
peers=${PEERS:-/work/peers}
jaq=$peers/bin/jaq
if [ ! -x "$jaq" ]; then
  if command -v jaq >/dev/null 2>&1; then
    jaq=$(command -v jaq)
  else
    nice cargo install --locked --root "$peers" jaq >/dev/null 2>&1 || echo "bench: cannot install jaq" >&2
  fi
fi

row "json fmt data.json" "$jsize" "fkit json fmt $json > /dev/null" "jaq ." "$jaq . $json > /dev/null"
row "json fmt data.json" "$jsize" "fkit json fmt $json > /dev/null" "jq ." "jq . $json > /dev/null"
row "json min data.json" "$jsize" "fkit json min $json > /dev/null" "jaq -c ." "$jaq -c . $json > /dev/null"
row "json min data.json" "$jsize" "fkit json min $json > /dev/null" "jq -c ." "jq -c . $json > /dev/null"
row "json validate data.json" "$jsize" "fkit json validate $json" "jq empty" "jq empty $json"
row "json validate data.json" "$jsize" "fkit json validate $json" "jaq empty" "$jaq empty $json"
row "json get /0/id data.json" "$jsize" "fkit json get /0/id $json > /dev/null" "jq '.[0].id'" "jq '.[0].id' $json > /dev/null"
row "json get /0/id data.json" "$jsize" "fkit json get /0/id $json > /dev/null" "jaq '.[0].id'" "$jaq '.[0].id' $json > /dev/null"
row "json length data.json" "$jsize" "fkit json length $json > /dev/null" "jq length" "jq length $json > /dev/null"
row "json min --lines data.ndjson" "$nsize" "fkit json min --lines $ndjson > /dev/null" "jaq -c ." "$jaq -c . $ndjson > /dev/null"
row "json min --lines data.ndjson" "$nsize" "fkit json min --lines $ndjson > /dev/null" "jq -c ." "jq -c . $ndjson > /dev/null"
row "json fmt --lines data.ndjson" "$nsize" "fkit json fmt --lines $ndjson > /dev/null" "jaq ." "$jaq . $ndjson > /dev/null"
row "json validate --lines data.ndjson" "$nsize" "fkit json validate --lines $ndjson" "jaq -c ." "$jaq -c . $ndjson > /dev/null"
row "json get --lines .id data.ndjson" "$nsize" "fkit json get --lines .id $ndjson > /dev/null" "jaq .id" "$jaq .id $ndjson > /dev/null"
row "json to-csv data.ndjson" "$nsize" "fkit json to-csv $ndjson > /dev/null" "mlr ijson ocsv" "mlr --ijson --ocsv unsparsify $ndjson > /dev/null"
# json query: the jq language (issue 14). The first two stream (elements of
# the top-level array, NDJSON lines) on all cores, through the text
# shortcut for select/path/object shapes; the third builds the document.
q1='.[] | select(.score > 50) | .name'
q2='select(.score > 50) | {id, city: .address.city}'
q3='map(select(.score > 50)) | length'
row "json query -c '$q1' data.json" "$jsize" "fkit json query -c '$q1' $json > /dev/null" "jaq -c" "$jaq -c '$q1' $json > /dev/null"
row "json query -c '$q1' data.json" "$jsize" "fkit json query -c '$q1' $json > /dev/null" "jq -c" "jq -c '$q1' $json > /dev/null"
row "json query -c '$q2' data.ndjson" "$nsize" "fkit json query -c '$q2' $ndjson > /dev/null" "jaq -c" "$jaq -c '$q2' $ndjson > /dev/null"
row "json query -c '$q2' data.ndjson" "$nsize" "fkit json query -c '$q2' $ndjson > /dev/null" "jq -c" "jq -c '$q2' $ndjson > /dev/null"
row "json query '$q3' data.json" "$jsize" "fkit json query '$q3' $json > /dev/null" "jaq" "$jaq '$q3' $json > /dev/null"
# A whole-document filter that is not map-shaped: the document is built
# (by fkit's reader, on both cores) and jaq's evaluator runs on it.
q4='group_by(.address.city) | map(length)'
row "json query '$q4' data.json" "$jsize" "fkit json query '$q4' $json > /dev/null" "jaq" "$jaq '$q4' $json > /dev/null"
# The same two streaming filters against DuckDB 2.0 (all cores, started from
# Python as a script would), writing its result as JSON.
sql2="COPY (SELECT id, address.city AS city FROM read_json('$ndjson') WHERE score > 50) TO '/dev/stdout' (FORMAT json)"
sql1="COPY (SELECT name FROM read_json('$json') WHERE score > 50) TO '/dev/stdout' (FORMAT json)"
row "json query -c '$q2' data.ndjson" "$nsize" "fkit json query -c '$q2' $ndjson > /dev/null" "duckdb" "$duckdb \"$sql2\" > /dev/null"
row "json query -c '$q1' data.json" "$jsize" "fkit json query -c '$q1' $json > /dev/null" "duckdb" "$duckdb \"$sql1\" > /dev/null"
