//! The CSV record-boundary chunker: counting in parallel pieces gives the
//! count of one pass of the parser, quoted newlines included, for every
//! piece size; the ranges the verbs cut cover the input, each a whole
//! number of records.
#![no_main]

use libfuzzer_sys::fuzz_target;

fn one_pass(data: &[u8]) -> u64 {
    let mut reader = simd_csv::ZeroCopyReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(data);
    let mut n = 0;
    while reader.read_byte_record().expect("reading a slice").is_some() {
        n += 1;
    }
    n
}

fuzz_target!(|data: &[u8]| {
    let Some((&knob, data)) = data.split_first() else {
        return;
    };
    // simd-csv reads a quote right after `"\r` as data (a quirk of its CRLF
    // check, see csv::chunks' tests): no CSV holds it.
    if data.windows(3).any(|w| w == b"\"\r\"") {
        return;
    }
    let target = 1 + usize::from(knob);
    let expected = one_pass(data);
    assert_eq!(
        fkit::fuzzing::csv_count_parallel(data, target),
        expected,
        "pieces of {target}"
    );
    let ranges = fkit::fuzzing::csv_record_ranges(data, target);
    let mut at = 0;
    let mut counted = 0;
    for range in &ranges {
        assert_eq!(range.start, at, "ranges leave a gap");
        at = range.end;
        counted += one_pass(&data[range.clone()]);
    }
    assert_eq!(at, if ranges.is_empty() { 0 } else { data.len() });
    assert_eq!(counted, expected, "a range cut a record");
});
