//! Values from minified JSON text (what fkit's parser captures for each
//! element), built with fewer allocations than jaq-json's reader, which
//! builds the same values: objects sized once, keys seen before shared, and
//! decimals whose text a 64-bit float writes back exactly stored as that
//! float instead of their text (jq's exactness is kept: any other decimal,
//! `1e400`, `0.10000000000000000001`, `1.50`, keeps its text). Measured on
//! `json query 'map(select(.score > 50)) | length' data.json` (bench row).

use super::Value;
use jaq_json::{Map, Num, Rc};
use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static READER: RefCell<Reader> = RefCell::default();
}

/// The value of minified JSON `text` (as fkit's parser captures values),
/// built by this thread's [`Reader`], or by jaq-json's when it declines.
pub(crate) fn parse_minified(text: &[u8]) -> Result<Value, String> {
    match READER.with_borrow_mut(|reader| reader.value(text)) {
        Some(value) => Ok(value),
        None => super::parse_json(text),
    }
}

/// Keys kept for sharing: enough for the shapes of a document's records,
/// bounded so that a document of unique keys does not grow it forever.
const KEYS: usize = 4096;
/// Longer keys are rarely repeated: built afresh.
const KEY_LEN: usize = 32;

/// Builds values from minified JSON; one per thread, keeping the keys it saw.
#[derive(Default)]
pub(crate) struct Reader {
    keys: HashMap<Box<[u8]>, Value, foldhash::fast::RandomState>,
}

impl Reader {
    /// The value of `text`, minified JSON (no whitespace) already checked
    /// by fkit's parser; `None` for anything else (the caller then reads it
    /// with jaq-json's reader).
    pub(crate) fn value(&mut self, text: &[u8]) -> Option<Value> {
        let mut at = 0;
        let value = self.any(text, &mut at)?;
        (at == text.len()).then_some(value)
    }

    fn any(&mut self, text: &[u8], at: &mut usize) -> Option<Value> {
        let rest = &text[*at..];
        let (value, used) = match *rest.first()? {
            b'n' if rest.starts_with(b"null") => (Value::Null, 4),
            b't' if rest.starts_with(b"true") => (Value::Bool(true), 4),
            b'f' if rest.starts_with(b"false") => (Value::Bool(false), 5),
            b'"' => {
                let end = string_end(rest)?;
                (string(&rest[..end])?, end)
            }
            b'-' | b'0'..=b'9' => {
                let end = rest
                    .iter()
                    .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                    .unwrap_or(rest.len());
                (Value::Num(number(&rest[..end])?), end)
            }
            b'[' => {
                *at += 1;
                let mut items = Vec::new();
                if text.get(*at) == Some(&b']') {
                    *at += 1;
                    return Some(Value::Arr(Rc::new(items)));
                }
                loop {
                    items.push(self.any(text, at)?);
                    match text.get(*at)? {
                        b',' => *at += 1,
                        b']' => break,
                        _ => return None,
                    }
                }
                *at += 1;
                items.shrink_to_fit();
                return Some(Value::Arr(Rc::new(items)));
            }
            b'{' => {
                *at += 1;
                let mut members = Vec::new();
                if text.get(*at) != Some(&b'}') {
                    loop {
                        let key = self.key(text, at)?;
                        if text.get(*at) != Some(&b':') {
                            return None;
                        }
                        *at += 1;
                        members.push((key, self.any(text, at)?));
                        match text.get(*at)? {
                            b',' => *at += 1,
                            b'}' => break,
                            _ => return None,
                        }
                    }
                }
                *at += 1;
                let mut map = Map::default();
                map.reserve_exact(members.len());
                // A repeated key keeps its first place and its last value, as in jaq.
                for (k, v) in members {
                    map.insert(k, v);
                }
                return Some(Value::obj(map));
            }
            _ => return None,
        };
        *at += used;
        Some(value)
    }

    /// An object key, shared with the same key seen before.
    fn key(&mut self, text: &[u8], at: &mut usize) -> Option<Value> {
        let rest = &text[*at..];
        if rest.first() != Some(&b'"') {
            return None;
        }
        let end = string_end(rest)?;
        *at += end;
        let quoted = &rest[..end];
        if quoted.len() > KEY_LEN + 2 {
            return string(quoted);
        }
        if let Some(key) = self.keys.get(quoted) {
            return Some(key.clone());
        }
        let key = string(quoted)?;
        if self.keys.len() < KEYS {
            self.keys.insert(quoted.into(), key.clone());
        }
        Some(key)
    }
}

/// The length of the string at the start of `text`, quotes included.
fn string_end(text: &[u8]) -> Option<usize> {
    let mut i = 1;
    loop {
        i += memchr::memchr2(b'"', b'\\', text.get(i..)?)?;
        if text[i] == b'"' {
            return Some(i + 1);
        }
        i += 2;
    }
}

/// A string from its quoted text; escapes are decoded by jaq-json's reader.
fn string(quoted: &[u8]) -> Option<Value> {
    let inner = &quoted[1..quoted.len() - 1];
    if memchr::memchr(b'\\', inner).is_some() {
        return jaq_json::read::parse_single(quoted).ok();
    }
    Some(Value::utf8_str(inner.to_vec()))
}

/// A number as jaq-json reads it (integers exact, big ones too; other
/// numbers as their text), except that a decimal which a float writes back
/// as the same text, both as fkit writes numbers and as jaq does, is that
/// float: the same value to every operation, and one allocation fewer.
fn number(text: &[u8]) -> Option<Num> {
    let s = std::str::from_utf8(text).ok()?;
    if !s.ends_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.bytes().all(|c| c.is_ascii_digit()) {
        return Num::from_str_radix(s, 10);
    }
    if let Some(f) = plain_float(s) {
        return Some(Num::Float(f));
    }
    Some(Num::Dec(Rc::new(s.to_string())))
}

/// `s` as a float, when it is a plain decimal with a fraction (`87.6265`)
/// that the float writes back exactly: ryu's shortest form (jaq's) is `s`,
/// and in [1e-4, 1e16) fkit writes the same shortest digits without an
/// exponent. Integral values (`1.0`) and trailing zeros (`1.50`) stay text.
fn plain_float(s: &str) -> Option<f64> {
    let (whole, fraction) = s.split_once('.')?;
    if fraction.is_empty()
        || fraction.ends_with('0')
        || !fraction.bytes().all(|c| c.is_ascii_digit())
    {
        return None;
    }
    let f: f64 = s.parse().ok()?;
    let size = f.abs();
    if !(1e-4..1e16).contains(&size) || f == f.trunc() || whole.is_empty() {
        return None;
    }
    let mut buffer = ryu::Buffer::new();
    (buffer.format_finite(f) == s).then_some(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(v: &Value) -> String {
        let mut out = Vec::new();
        super::super::write_value(
            &mut out,
            v,
            &super::super::Style {
                indent: super::super::Indent::Compact,
                ..Default::default()
            },
        );
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn builds_what_jaqs_reader_builds() {
        let mut reader = Reader::default();
        for json in [
            r#"{"id":0,"name":"Ada","score":87.6265,"geo":[70.7816,-16.740625],"ok":true,"n":null}"#,
            r#"{"a":1,"b":{"a":[],"b":{}},"a":2}"#,
            r#"["a\"b","\u00e9\n",12345678901234567890,-0,1e400,0.10000000000000000001,1.50,1.0,1e-5,0.00001,-2.5]"#,
            r#""plain""#,
            "[[],[[]],{}]",
        ] {
            let ours = reader.value(json.as_bytes()).expect(json);
            let jaqs = jaq_json::read::parse_single(json.as_bytes()).unwrap();
            assert_eq!(ours, jaqs, "{json}");
            assert_eq!(text(&ours), text(&jaqs), "{json}");
            assert_eq!(ours.to_string(), jaqs.to_string(), "{json}");
        }
        // Not minified, or not JSON: left to jaq-json's reader.
        for other in ["[1, 2]", "{\"a\" :1}", "[1,]", "tru", "[1]x", "1.", "\"a"] {
            assert!(reader.value(other.as_bytes()).is_none(), "{other}");
        }
    }

    #[test]
    fn decimals_become_floats_only_when_written_back_the_same() {
        // Pseudo-random decimals of 1 to 7 fraction digits across magnitudes.
        let mut x: u64 = 0x9e3779b97f4a7c15;
        for _ in 0..200_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let digits = (x % 7 + 1) as usize;
            let scale = 10u64.pow((x >> 8) as u32 % 12);
            let whole = (x >> 20) % scale.max(1);
            let fraction = (x >> 3) % 10u64.pow(digits as u32);
            let s = format!("{whole}.{fraction:0digits$}");
            let n = number(s.as_bytes()).unwrap();
            let mut out = Vec::new();
            super::super::write::number(&mut out, &n);
            assert_eq!(String::from_utf8(out).unwrap(), s);
            assert_eq!(n.to_string(), s);
        }
    }
}
