//! gzip (RFC 1952), compressed and decompressed on every core.
//!
//! Compression cuts the input into blocks and deflates them on every core;
//! each block becomes an independent member whose header records its own
//! length and its uncompressed length (fkit's block index), so GNU gzip
//! reads the file as an ordinary multi-member file while fkit can inflate
//! the members on every core and jump to any offset.
//!
//! - `member.rs`: the member header, with fkit's block index in it;
//! - `inflate.rs`: the inflaters (ISA-L with the `isal` feature, zlib-rs and
//!   libdeflate otherwise) behind one interface;
//! - `compress.rs`: compression on every core;
//! - `decompress.rs`: which way each part of an input is inflated, using
//!   `index.rs` (indexed members, on every core), `mapped.rs` (other
//!   members, from a map) and `stream.rs` (the streaming reader, which is
//!   also what [`crate::codec::decoder`] hands out).

pub(crate) mod bgzf;
mod compress;
mod decompress;
mod index;
mod inflate;
mod mapped;
mod member;
mod stream;

pub(crate) use compress::{Engine, GzipOptions, compress};
pub(crate) use decompress::decompress;
pub(crate) use index::{MAX_BLOCK, indexed_members};
pub(crate) use member::parse_header;
pub(crate) use stream::GzipDecoder;
