//! Entry points for the fuzz targets in `fuzz/` (cargo-fuzz builds them as
//! a separate crate, which sees only `pub` items): each hands untrusted
//! bytes to one of fkit's parsers exactly as a command would, and returns
//! what the target compares. Not an API; hidden from the documentation.

use crate::codec::{self, Source, Window};
use crate::io::MappedFile;
use crate::io::detect::Format;
use std::io::Read;
use std::path::Path;

/// What a gzip header parse found: its length and fkit's block index.
pub fn gzip_header(data: &[u8]) -> Option<(usize, Option<(u32, u32)>)> {
    let header = codec::gzip::parse_header(data).ok()?;
    assert!(header.len <= data.len(), "a header longer than its input");
    Some((header.len, header.index))
}

/// fkit's block index (and BGZF's) read from a mapped file as `gzip -d`
/// reads it: how many indexed members, and where the first member
/// without an index starts, which is never past the end.
pub fn gzip_indexed_members(file: &MappedFile) -> (usize, usize) {
    let (members, end) = codec::gzip::indexed_members(file);
    assert!(end <= file.len(), "the index walk ended past the file");
    (members.len(), end)
}

/// Decompressed bytes, or the error's message, and where trailing data
/// starts (for the caller's trailing-data rules).
pub type Decoded = Result<(Vec<u8>, Option<u64>), String>;

/// Decompress a whole file as `fkit gzip -d` does (mapped, on `threads`
/// cores; the format from the magic bytes). `None` when the bytes are
/// neither gzip nor bzip2.
pub fn decompress_file(file: &MappedFile, threads: usize) -> Option<Decoded> {
    let format = Format::detect(&file[..file.len().min(4)])?;
    let mut out = Vec::new();
    let result = {
        let mut window = Window::new(&mut out, None);
        codec::decompress(format, Source::File(file), &mut window, threads)
    };
    Some(
        result
            .map(|trailing| (out, trailing.map(|t| t.at)))
            .map_err(|e| format!("{e:#}")),
    )
}

/// Decompress `data` read as a stream (a pipe), as `fkit gzip -d` does.
pub fn decompress_stream(data: &[u8], threads: usize) -> Option<Decoded> {
    let format = Format::detect(&data[..data.len().min(4)])?;
    let mut out = Vec::new();
    let mut reader: &[u8] = data;
    let result = {
        let mut window = Window::new(&mut out, None);
        codec::decompress(format, Source::Stream(&mut reader), &mut window, threads)
    };
    Some(
        result
            .map(|trailing| (out, trailing.map(|t| t.at)))
            .map_err(|e| format!("{e:#}")),
    )
}

/// Decompress `data` through the reader `csv` and `json` use for
/// compressed input.
pub fn decompress_reader(data: &[u8]) -> Option<Result<Vec<u8>, String>> {
    let format = Format::detect(&data[..data.len().min(4)])?;
    let mut out = Vec::new();
    let result = codec::decoder(format, Box::new(data)).read_to_end(&mut out);
    Some(result.map(|_| out).map_err(|e| e.to_string()))
}

/// Every bzip2 block the block finder sees in `data`, decoded on its own
/// by fkit's block decoder: (start bit, end bit, whether the decoder
/// agreed with the finder on its end and CRC).
pub fn bzip2_blocks(data: &[u8]) -> Vec<(u64, u64, bool)> {
    let mut decoder = codec::bzip2::decoder::BlockDecoder::new();
    let mut found = Vec::new();
    let mut out = Vec::new();
    for block in codec::bzip2::blocks::Blocks::new(data) {
        assert!(
            block.start_bit < block.end_bit && block.end_bit <= data.len() as u64 * 8,
            "a block outside its input"
        );
        out.clear();
        let agreed = matches!(
            decoder.decode_block(data, block.start_bit, block.level, &mut out),
            Ok((end, crc)) if end == block.end_bit && crc == block.crc
        );
        found.push((block.start_bit, block.end_bit, agreed));
    }
    found
}

/// `data` compressed to bzip2 by fkit's encoder at `level` on `threads`.
pub fn bzip2_compress(data: &[u8], level: u32, threads: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut input: &[u8] = data;
    codec::bzip2::compress(&mut input, &mut out, level, threads).expect("writing to a Vec");
    out
}

/// `data` compressed to gzip by fkit (its indexed members).
pub fn gzip_compress(data: &[u8], level: u32, threads: usize, block: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let mut input: &[u8] = data;
    let options = codec::gzip::GzipOptions {
        level,
        threads,
        block,
        name: None,
        comment: None,
        mtime: 0,
        engine: codec::gzip::Engine::Auto,
        rsyncable: false,
    };
    codec::gzip::compress(&mut input, &mut out, &options).expect("writing to a Vec");
    out
}

/// The verdict of `fkit json validate` on one document: `Ok` or the message.
pub fn json_verdict(data: &[u8]) -> Result<(), String> {
    use crate::cmd::json::parser::{Parser, Skip};
    let mut parser = Parser::new(data);
    parser
        .start()
        .and_then(|()| parser.value(&mut Skip))
        .and_then(|()| parser.end_of_input())
        .map_err(|e| e.describe("<fuzz>"))
}

/// The records of `data` as `csv count` counts a mapped file: in pieces of
/// `target` bytes on every core.
pub fn csv_count_parallel(data: &[u8], target: usize) -> u64 {
    crate::cmd::csv::chunks::count_records(data, 0, target.max(1), b'"', &|_| {}).records
}

/// The record-aligned ranges the CSV verbs cut a mapped file into.
pub fn csv_record_ranges(data: &[u8], target: usize) -> Vec<std::ops::Range<usize>> {
    crate::cmd::csv::chunks::record_ranges(data, 0, target.max(1), b'"', &|_| {})
}

/// Resolve a column selection against a header.
pub fn csv_selection(text: &str, header: &[&[u8]]) -> Result<Vec<usize>, String> {
    let selection =
        crate::cmd::csv::selection::Selection::parse(text).map_err(|e| format!("{e:#}"))?;
    selection
        .resolve(header, true)
        .map_err(|e| format!("{e:#}"))
}

/// A size as the command line parses it (`64K`, `1.5G`, `0x1f`).
pub fn size(text: &str) -> Result<u64, String> {
    text.parse::<crate::io::Size>()
        .map(|s| s.bytes())
        .map_err(|e| e.to_string())
}

/// A JSON path (`/a/0`, `.a[0]`) as its steps' count.
pub fn json_path(text: &str) -> Result<usize, String> {
    crate::cmd::json::path::parse(text).map(|p| p.steps.len())
}

/// Load a chunk manifest as `chunk join` does.
pub fn chunk_manifest(path: &Path) -> Result<(), String> {
    crate::cmd::chunk::Manifest::read(path)
        .map(drop)
        .map_err(|e| format!("{e:#}"))
}
