//! Values written as jq writes them: two-space indentation by default,
//! `"key": value`, numbers that came from the input in their exact text and
//! computed ones in jq's shortest form (3, 1.5, 1e+100, 1e-05), NaN as null.

use super::Value;
use jaq_json::Num;
use std::io::Write;

/// How values are laid out.
#[derive(Clone, Debug)]
pub(crate) enum Indent {
    /// All on one line, no spaces (`-c`, `--indent 0`).
    Compact,
    /// This many spaces per level.
    Spaces(usize),
    /// One tab per level.
    Tab,
}

/// The escape sequences for each kind of value (`-C`, `JQ_COLORS`).
#[derive(Clone, Debug)]
pub(crate) struct Colors {
    null: String,
    r#false: String,
    r#true: String,
    number: String,
    string: String,
    array: String,
    object: String,
    key: String,
}

impl Colors {
    /// jq 1.7's defaults, with `JQ_COLORS` (colon-separated SGR codes in the
    /// order null:false:true:numbers:strings:arrays:objects:keys) over them.
    pub fn from_env(spec: Option<&str>) -> Colors {
        let defaults = [
            "0;90", "0;39", "0;39", "0;39", "0;32", "1;39", "1;39", "34;1",
        ];
        let mut codes: Vec<String> = defaults.iter().map(|c| c.to_string()).collect();
        if let Some(spec) = spec {
            let valid = |c: &str| c.chars().all(|ch| ch.is_ascii_digit() || ch == ';');
            for (slot, code) in codes.iter_mut().zip(spec.split(':')) {
                if valid(code) {
                    *slot = code.to_string();
                }
            }
        }
        let sgr = |i: usize| format!("\x1b[{}m", codes[i]);
        Colors {
            null: sgr(0),
            r#false: sgr(1),
            r#true: sgr(2),
            number: sgr(3),
            string: sgr(4),
            array: sgr(5),
            object: sgr(6),
            key: sgr(7),
        }
    }
}

const RESET: &[u8] = b"\x1b[0m";

/// Everything that decides how a value is written.
#[derive(Clone, Debug)]
pub(crate) struct Style {
    pub indent: Indent,
    pub sort_keys: bool,
    /// Escape every non-ASCII character as `\uXXXX` (`-a`).
    pub ascii: bool,
    pub colors: Option<Colors>,
}

impl Default for Style {
    fn default() -> Style {
        Style {
            indent: Indent::Spaces(2),
            sort_keys: false,
            ascii: false,
            colors: None,
        }
    }
}

/// Append `value` to `out`, without a newline after it.
pub(crate) fn write_value(out: &mut Vec<u8>, value: &Value, style: &Style) {
    Writer { out, style }.value(value, 0);
}

struct Writer<'a> {
    out: &'a mut Vec<u8>,
    style: &'a Style,
}

impl Writer<'_> {
    fn value(&mut self, value: &Value, level: usize) {
        match value {
            Value::Null => self.scalar(|c| &c.null, b"null"),
            Value::Bool(false) => self.scalar(|c| &c.r#false, b"false"),
            Value::Bool(true) => self.scalar(|c| &c.r#true, b"true"),
            Value::Num(n) => {
                let mut text = Vec::new();
                number(&mut text, n);
                self.scalar(|c| &c.number, &text);
            }
            Value::TStr(s) | Value::BStr(s) => {
                self.paint(|c| &c.string);
                string(self.out, s, self.style.ascii);
                self.reset();
            }
            Value::Arr(items) if items.is_empty() => self.scalar(|c| &c.array, b"[]"),
            Value::Obj(members) if members.is_empty() => self.scalar(|c| &c.object, b"{}"),
            Value::Arr(items) => {
                self.punct(|c| &c.array, b"[");
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.punct(|c| &c.array, b",");
                    }
                    self.newline(level + 1);
                    self.value(item, level + 1);
                }
                self.newline(level);
                self.punct(|c| &c.array, b"]");
            }
            Value::Obj(members) => {
                let mut pairs: Vec<(&Value, &Value)> = members.iter().collect();
                if self.style.sort_keys {
                    pairs.sort_by(|a, b| key_bytes(a.0).cmp(key_bytes(b.0)));
                }
                self.punct(|c| &c.object, b"{");
                for (i, (key, item)) in pairs.into_iter().enumerate() {
                    if i > 0 {
                        self.punct(|c| &c.object, b",");
                    }
                    self.newline(level + 1);
                    self.paint(|c| &c.key);
                    match key {
                        Value::TStr(s) | Value::BStr(s) => string(self.out, s, self.style.ascii),
                        // jaq allows other keys; jq has none: write their JSON as a string.
                        other => string(self.out, other.to_string().as_bytes(), self.style.ascii),
                    }
                    self.reset();
                    self.punct(|c| &c.object, b":");
                    if !matches!(self.style.indent, Indent::Compact) {
                        self.out.push(b' ');
                    }
                    self.value(item, level + 1);
                }
                self.newline(level);
                self.punct(|c| &c.object, b"}");
            }
        }
    }

    fn newline(&mut self, level: usize) {
        match self.style.indent {
            Indent::Compact => {}
            Indent::Spaces(n) => {
                self.out.push(b'\n');
                self.out.resize(self.out.len() + n * level, b' ');
            }
            Indent::Tab => {
                self.out.push(b'\n');
                self.out.resize(self.out.len() + level, b'\t');
            }
        }
    }

    fn paint(&mut self, pick: impl Fn(&Colors) -> &String) {
        if let Some(colors) = &self.style.colors {
            self.out.extend_from_slice(pick(colors).as_bytes());
        }
    }

    fn reset(&mut self) {
        if self.style.colors.is_some() {
            self.out.extend_from_slice(RESET);
        }
    }

    fn scalar(&mut self, pick: impl Fn(&Colors) -> &String, text: &[u8]) {
        self.paint(pick);
        self.out.extend_from_slice(text);
        self.reset();
    }

    fn punct(&mut self, pick: impl Fn(&Colors) -> &String, text: &[u8]) {
        self.scalar(pick, text);
    }
}

fn key_bytes(key: &Value) -> &[u8] {
    match key {
        Value::TStr(s) | Value::BStr(s) => s,
        _ => b"",
    }
}

/// A number as jq writes it: a literal from the input in its exact text.
pub(crate) fn number(out: &mut Vec<u8>, n: &Num) {
    match n {
        Num::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Num::BigInt(i) => {
            let _ = write!(out, "{i}");
        }
        Num::Dec(text) => out.extend_from_slice(text.as_bytes()),
        Num::Float(f) => float(out, *f),
    }
}

/// jq's form of a computed number: integral values under 1e17 without a
/// fraction, otherwise the shortest digits that read back the same, with an
/// exponent (`1e+100`, `1e-05`) outside [1e-4, 1e17); infinities as the
/// largest finite double, NaN as null.
fn float(out: &mut Vec<u8>, f: f64) {
    if f.is_nan() {
        out.extend_from_slice(b"null");
        return;
    }
    let f = if f.is_infinite() {
        f64::MAX.copysign(f)
    } else {
        f
    };
    if f == f.trunc() && f.abs() < 1e17 {
        if f == 0.0 && f.is_sign_negative() {
            out.extend_from_slice(b"-0");
        } else {
            let _ = write!(out, "{}", f as i64);
        }
        return;
    }
    // Rust's `{:e}` is the shortest round-trip form: "-1.2345e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    out.extend_from_slice(sign.as_bytes());
    if (-4..17).contains(&exp) {
        if exp < 0 {
            out.extend_from_slice(b"0.");
            out.resize(out.len() + (-exp - 1) as usize, b'0');
            out.extend_from_slice(digits.as_bytes());
        } else {
            let point = exp as usize + 1;
            if digits.len() <= point {
                out.extend_from_slice(digits.as_bytes());
                out.resize(out.len() + point - digits.len(), b'0');
            } else {
                out.extend_from_slice(&digits.as_bytes()[..point]);
                out.push(b'.');
                out.extend_from_slice(&digits.as_bytes()[point..]);
            }
        }
    } else {
        out.extend_from_slice(&digits.as_bytes()[..1]);
        if digits.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&digits.as_bytes()[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    }
}

/// A JSON string with jq's escapes; invalid UTF-8 becomes U+FFFD.
pub(crate) fn string(out: &mut Vec<u8>, bytes: &[u8], ascii: bool) {
    out.push(b'"');
    let text = String::from_utf8_lossy(bytes);
    let mut plain = 0;
    let raw = text.as_bytes();
    for (i, c) in text.char_indices() {
        let escape: Option<&[u8]> = match c {
            '"' => Some(b"\\\""),
            '\\' => Some(b"\\\\"),
            '\n' => Some(b"\\n"),
            '\t' => Some(b"\\t"),
            '\r' => Some(b"\\r"),
            '\u{8}' => Some(b"\\b"),
            '\u{c}' => Some(b"\\f"),
            _ => None,
        };
        let control = c < ' ' || c == '\u{7f}';
        let wide = ascii && !c.is_ascii();
        if escape.is_none() && !control && !wide {
            continue;
        }
        out.extend_from_slice(&raw[plain..i]);
        plain = i + c.len_utf8();
        if let Some(e) = escape {
            out.extend_from_slice(e);
        } else {
            let mut units = [0u16; 2];
            for unit in c.encode_utf16(&mut units) {
                let _ = write!(out, "\\u{unit:04x}");
            }
        }
    }
    out.extend_from_slice(&raw[plain..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn float_text(f: f64) -> String {
        let mut out = Vec::new();
        float(&mut out, f);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn floats_as_jq_writes_them() {
        assert_eq!(float_text(3.0), "3");
        assert_eq!(float_text(1.5), "1.5");
        assert_eq!(float_text(-0.25), "-0.25");
        assert_eq!(float_text(1e100), "1e+100");
        assert_eq!(float_text(0.00001), "1e-05");
        assert_eq!(float_text(0.0001), "0.0001");
        assert_eq!(float_text(1.0 / 3.0), "0.3333333333333333");
        assert_eq!(float_text(1e17), "1e+17");
        assert_eq!(float_text(123456.789e3), "123456789");
        assert_eq!(float_text(f64::INFINITY), "1.7976931348623157e+308");
        assert_eq!(float_text(f64::NAN), "null");
    }

    #[test]
    fn strings_escape_as_jq() {
        let mut out = Vec::new();
        string(&mut out, "a\"\\\n\u{1}\u{7f}é😀".as_bytes(), false);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "\"a\\\"\\\\\\n\\u0001\\u007fé😀\""
        );
        out.clear();
        string(&mut out, "é😀".as_bytes(), true);
        assert_eq!(String::from_utf8_lossy(&out), "\"\\u00e9\\ud83d\\ude00\"");
    }
}
