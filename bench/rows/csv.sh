# Rows for `fkit csv` (sourced by bench/compare.sh): the page-cached 128 MB
# data.csv of the shared corpus against xan (the strongest peer, SIMD
# parser), xsv and miller. xan counts columns from 0, fkit and xsv from 1.
csvf=$corpus/data.csv
size=$(stat -c %s "$csvf")
peers=${FKIT_PEERS:-/work/peers}
for tool in xan xsv; do
  [ -x "$peers/bin/$tool" ] || nice cargo install -q --root "$peers" "$tool" >/dev/null 2>&1 || echo "bench: cannot install $tool" >&2
done
need mlr miller
xan=$peers/bin/xan
xsv=$peers/bin/xsv
cat "$csvf" >/dev/null

row "csv count" "$size" "fkit csv count $csvf" "xan count -p" "$xan count -p $csvf"
row "csv count" "$size" "fkit csv count $csvf" "xan count" "$xan count $csvf"
row "csv count" "$size" "fkit csv count $csvf" "xsv count" "$xsv count $csvf"
row "csv select 1,3" "$size" "fkit csv select 1,3 $csvf > /dev/null" "xan select 0,2" "$xan select 0,2 $csvf > /dev/null"
row "csv select 1,3" "$size" "fkit csv select 1,3 $csvf > /dev/null" "xsv select 1,3" "$xsv select 1,3 $csvf > /dev/null"
row "csv search -s city Berlin" "$size" "fkit csv search -s city Berlin $csvf > /dev/null" "xan search -r" "$xan search -r -s city Berlin $csvf > /dev/null"
row "csv search 'retry omega'" "$size" "fkit csv search 'retry omega' $csvf > /dev/null" "xan search -r" "$xan search -r 'retry omega' $csvf > /dev/null"
row "csv search -s city Berlin" "$size" "fkit csv search -s city Berlin $csvf > /dev/null" "xsv search" "$xsv search -s city Berlin $csvf > /dev/null"
row "csv stats" "$size" "fkit csv stats $csvf > /dev/null" "xan stats -p" "$xan stats -p $csvf > /dev/null"
row "csv stats" "$size" "fkit csv stats $csvf > /dev/null" "xsv stats" "$xsv stats $csvf > /dev/null"
row "csv sort -N -s score" "$size" "fkit csv sort -N -s score $csvf > /dev/null" "xan sort -N" "$xan sort -N -s score $csvf > /dev/null"
row "csv sort -N -s score" "$size" "fkit csv sort -N -s score $csvf > /dev/null" "xsv sort -N" "$xsv sort -N -s score $csvf > /dev/null"
row "csv sort -s name" "$size" "fkit csv sort -s name $csvf > /dev/null" "xan sort" "$xan sort -s name $csvf > /dev/null"
row "csv to-json" "$size" "fkit csv to-json $csvf > /dev/null" "mlr --icsv --ojson cat" "mlr --icsv --ojson cat $csvf > /dev/null"
row "csv to-json" "$size" "fkit csv to-json $csvf > /dev/null" "xan to json" "$xan to json $csvf > /dev/null"
row "csv frequency -s city" "$size" "fkit csv frequency -s city $csvf > /dev/null" "xan frequency" "$xan frequency -s city $csvf > /dev/null"
row "csv count data.csv.gz" "$size" "fkit csv count $work/data.csv.gz" "xan count" "$xan count $work/data.csv.gz" "[ -f $work/data.csv.gz ] || gzip -1 -c $csvf > $work/data.csv.gz"

# Issue 15's verbs. cities.csv: the 10 distinct city values, the small side of a join.
"$FKIT" csv dedup -s city "$csvf" | "$FKIT" csv select city -q > "$work/cities.csv"
cities=$work/cities.csv
row "csv join city (small side)" "$size" "fkit csv join city $csvf city $cities > /dev/null" "xan join" "$xan join city $csvf city $cities > /dev/null"
row "csv join city (small side)" "$size" "fkit csv join city $csvf city $cities > /dev/null" "DuckDB" "$duckdb \"COPY (SELECT * FROM read_csv('$csvf') d JOIN read_csv('$cities') c ON d.city = c.city) TO '/dev/stdout' (FORMAT csv)\" > /dev/null"
row "csv join id (data.csv with itself)" "$size" "fkit csv join id $csvf id $csvf > /dev/null" "xan join" "$xan join id $csvf id $csvf > /dev/null"
# Neither side fits -S: both sorted through temporary runs and merged.
row "csv join id -S 64M (sort-merge, data.csv with itself)" "$size" "fkit csv join -S 64M id $csvf id $csvf > /dev/null" "xan join" "$xan join id $csvf id $csvf > /dev/null"
# cat rows writes to a file: a write of mapped pages to /dev/null never
# reads them, which would time nothing.
row "csv cat rows data.csv data.csv > file" "$((2 * size))" "fkit csv cat rows $csvf $csvf > $work/cat.out" "xan cat rows > file" "$xan cat rows $csvf $csvf > $work/cat.out"
row "csv cat rows data.csv data.csv > file" "$((2 * size))" "fkit csv cat rows $csvf $csvf > $work/cat.out" "cat > file" "cat $csvf $csvf > $work/cat.out"
row "csv dedup -s city" "$size" "fkit csv dedup -s city $csvf > /dev/null" "xan dedup" "$xan dedup -s city $csvf > /dev/null"
row "csv sample 1000" "$size" "fkit csv sample 1000 $csvf > /dev/null" "xan sample" "$xan sample 1000 $csvf > /dev/null"
row "csv reverse" "$size" "fkit csv reverse $csvf > /dev/null" "xan reverse" "$xan reverse $csvf > /dev/null"
row "csv tail -n 1000" "$size" "fkit csv tail -n 1000 $csvf > /dev/null" "xan tail -l 1000" "$xan tail -l 1000 $csvf > /dev/null"

# Issue 16's verbs: rows aggregated, selected and computed (fkit in the jq
# language through src/query, xan in its own). xan -p is its parallel mode.
row "csv groupby city count sum:balance mean:score" "$size" "fkit csv groupby city count sum:balance mean:score $csvf > /dev/null" "xan groupby" "$xan groupby city 'count(), sum(balance), mean(score)' $csvf > /dev/null"
row "csv groupby city count sum:balance mean:score" "$size" "fkit csv groupby city count sum:balance mean:score $csvf > /dev/null" "xan groupby -p" "$xan groupby -p city 'count(), sum(balance), mean(score)' $csvf > /dev/null"
row "csv agg count sum:balance mean:score" "$size" "fkit csv agg count sum:balance mean:score $csvf > /dev/null" "xan agg" "$xan agg 'count(), sum(balance), mean(score)' $csvf > /dev/null"
row "csv filter '.age > 50'" "$size" "fkit csv filter '.age > 50' $csvf > /dev/null" "xan filter" "$xan filter 'age > 50' $csvf > /dev/null"
row "csv map '.double = .score * 2'" "$size" "fkit csv map '.double = .score * 2' $csvf > /dev/null" "xan map" "$xan map 'score * 2 as double' $csvf > /dev/null"
# DuckDB (two threads, start included, writing CSV) on the same three.
row "csv groupby city count sum:balance mean:score" "$size" "fkit csv groupby city count sum:balance mean:score $csvf > /dev/null" "DuckDB" "$duckdb \"COPY (SELECT city, count(*) AS count, sum(balance) AS sum_balance, avg(score) AS mean_score FROM read_csv('$csvf') GROUP BY city) TO '/dev/stdout' (FORMAT csv)\" > /dev/null"
row "csv filter '.age > 50'" "$size" "fkit csv filter '.age > 50' $csvf > /dev/null" "DuckDB" "$duckdb \"COPY (SELECT * FROM read_csv('$csvf') WHERE age > 50) TO '/dev/stdout' (FORMAT csv)\" > /dev/null"
row "csv map '.double = .score * 2'" "$size" "fkit csv map '.double = .score * 2' $csvf > /dev/null" "DuckDB" "$duckdb \"COPY (SELECT *, score * 2 AS double FROM read_csv('$csvf')) TO '/dev/stdout' (FORMAT csv)\" > /dev/null"
