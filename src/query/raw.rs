//! The commonest filter shapes, run on a value's minified JSON text without
//! building it: `select(.a.b > 50)` (comparisons with a literal, `and`,
//! `or`, a bare path for truthiness), paths (`.name`, `.address.city`) and
//! object construction (`{id, city: .address.city}`), joined by `|`.
//!
//! Building a jaq value for every record costs an allocation per string,
//! number and object; these shapes touch two or three fields, so they read
//! only those and copy the output bytes as they were written. Anything the
//! text alone cannot answer exactly (an escape in a string that is compared
//! or written, a path through something that is not an object, a key with
//! an escape) returns `None`, and the caller runs the engine on that value,
//! so results and errors are always the engine's. Bench row: "json query
//! select … data.ndjson" in bench/rows/json.sh.

/// A filter in the shapes above.
#[derive(Debug)]
pub(crate) struct RawFilter {
    stages: Vec<Stage>,
    /// The members of the value being run on, as (key, value) byte ranges,
    /// found in one pass and reused for every top-level lookup.
    members: std::cell::RefCell<Vec<(Range, Range)>>,
}

type Range = std::ops::Range<usize>;

#[derive(Debug)]
enum Stage {
    Select(Cond),
    Path(Vec<String>),
    Object(Vec<(String, Vec<String>)>),
}

#[derive(Debug)]
enum Cond {
    Or(Box<Cond>, Box<Cond>),
    And(Box<Cond>, Box<Cond>),
    Truthy(Vec<String>),
    Compare(Vec<String>, Op, Literal),
}

#[derive(Debug, Clone, Copy)]
enum Op {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug)]
enum Literal {
    Null,
    Bool(bool),
    Number(f64),
    /// A string without escapes, as its bytes.
    Str(Vec<u8>),
}

impl RawFilter {
    /// The filter, when it is one of the shapes this module runs.
    pub fn compile(code: &str) -> Option<RawFilter> {
        let tokens = tokens(code)?;
        let mut p = Reader { tokens, at: 0 };
        let mut stages = Vec::new();
        loop {
            let stage = p.stage()?;
            let last = matches!(stage, Stage::Object(_));
            stages.push(stage);
            match p.next() {
                None => break,
                Some(Token::Pipe) if !last => {}
                Some(_) => return None,
            }
        }
        Some(RawFilter {
            stages,
            members: Default::default(),
        })
    }

    /// Run on `text` (one minified JSON value). `Some(None)`: no output;
    /// `Some(Some(truthy))`: one output appended to `out` (strings without
    /// quotes when `raw`); `None`: the engine must answer, `out` untouched.
    pub fn run(&self, text: &[u8], raw: bool, out: &mut Vec<u8>) -> Option<Option<bool>> {
        let mut members = self.members.borrow_mut();
        members.clear();
        let mut value: &[u8] = text;
        // Lookups in `value` go through `members` while it is `text`.
        let mut indexed = false;
        if text.first() == Some(&b'{') {
            index(text, &mut members)?;
            indexed = true;
        }
        let members = &*members;
        let find = |value, keys: &[String], indexed| find(text, members, value, keys, indexed);
        for stage in &self.stages {
            match stage {
                Stage::Select(cond) => {
                    if !cond.holds(&|keys| find(value, keys, indexed))? {
                        return Some(None);
                    }
                }
                Stage::Path(keys) => {
                    value = find(value, keys, indexed)?;
                    indexed = indexed && keys.is_empty();
                }
                Stage::Object(entries) => {
                    let mut fields = Vec::with_capacity(entries.len());
                    for (_, keys) in entries {
                        let field = find(value, keys, indexed)?;
                        if field.contains(&b'\\') {
                            return None;
                        }
                        fields.push(field);
                    }
                    out.push(b'{');
                    for (i, ((key, _), field)) in entries.iter().zip(fields).enumerate() {
                        if i > 0 {
                            out.push(b',');
                        }
                        out.push(b'"');
                        out.extend_from_slice(key.as_bytes());
                        out.extend_from_slice(b"\":");
                        out.extend_from_slice(field);
                    }
                    out.push(b'}');
                    return Some(Some(true));
                }
            }
        }
        if value.contains(&b'\\') {
            return None;
        }
        match value {
            [b'"', inner @ .., b'"'] if raw => out.extend_from_slice(inner),
            _ => out.extend_from_slice(value),
        }
        Some(Some(!matches!(value, b"null" | b"false")))
    }
}

impl Cond {
    /// Whether the condition holds, `find` giving the value at a path.
    fn holds<'t>(&self, find: &dyn Fn(&[String]) -> Option<&'t [u8]>) -> Option<bool> {
        Some(match self {
            Cond::Or(a, b) => a.holds(find)? || b.holds(find)?,
            Cond::And(a, b) => a.holds(find)? && b.holds(find)?,
            Cond::Truthy(keys) => !matches!(find(keys)?, b"null" | b"false"),
            Cond::Compare(keys, op, literal) => {
                let field = find(keys)?;
                let order = compare(field, literal)?;
                match op {
                    Op::Eq => order.is_eq(),
                    Op::Ne => order.is_ne(),
                    Op::Lt => order.is_lt(),
                    Op::Le => order.is_le(),
                    Op::Gt => order.is_gt(),
                    Op::Ge => order.is_ge(),
                }
            }
        })
    }
}

/// jq's order of types: null, false, true, numbers, strings, arrays, objects.
fn rank(value: &[u8]) -> u8 {
    match value.first() {
        Some(b'n') => 0,
        Some(b'f') => 1,
        Some(b't') => 2,
        Some(b'"') => 4,
        Some(b'[') => 5,
        Some(b'{') => 6,
        _ => 3,
    }
}

/// `field` against `literal` in jq's order; `None` when the text cannot
/// say exactly (a string with escapes).
fn compare(field: &[u8], literal: &Literal) -> Option<std::cmp::Ordering> {
    let literal_rank = match literal {
        Literal::Null => 0,
        Literal::Bool(false) => 1,
        Literal::Bool(true) => 2,
        Literal::Number(_) => 3,
        Literal::Str(_) => 4,
    };
    let field_rank = rank(field);
    if field_rank != literal_rank {
        return Some(field_rank.cmp(&literal_rank));
    }
    match literal {
        Literal::Number(n) => {
            let x: f64 = std::str::from_utf8(field).ok()?.parse().ok()?;
            x.partial_cmp(n)
        }
        Literal::Str(s) => {
            let inner = &field[1..field.len() - 1];
            if inner.contains(&b'\\') {
                return None;
            }
            Some(inner.cmp(s.as_slice()))
        }
        _ => Some(std::cmp::Ordering::Equal),
    }
}

/// The value at `keys` in `value` (`null` where a key is missing or the
/// value is null); `None` through anything but an object or null, or when
/// a key in the way has an escape.
fn lookup<'t>(mut value: &'t [u8], keys: &[String]) -> Option<&'t [u8]> {
    for key in keys {
        value = match value.first() {
            Some(b'n') => return Some(b"null"),
            Some(b'{') => member(value, key.as_bytes())?,
            _ => return None,
        };
    }
    Some(value)
}

/// The value at `keys` in `value`; while `value` is `text` (`indexed`), the
/// first key is found among `members`.
fn find<'t>(
    text: &'t [u8],
    members: &[(Range, Range)],
    value: &'t [u8],
    keys: &[String],
    indexed: bool,
) -> Option<&'t [u8]> {
    match keys.split_first() {
        Some((first, rest)) if indexed => {
            let found = members
                .iter()
                .rev()
                .find(|(k, _)| &text[k.clone()] == first.as_bytes())
                .map_or(&b"null"[..], |(_, v)| &text[v.clone()]);
            lookup(found, rest)
        }
        _ => lookup(value, keys),
    }
}

/// The members of a minified object, in order; `None` if a key has an escape.
fn index(object: &[u8], members: &mut Vec<(Range, Range)>) -> Option<()> {
    let mut i = 1;
    if object.get(i) == Some(&b'}') {
        return Some(());
    }
    loop {
        let key_end = string_end(object, i)?;
        if object[i + 1..key_end - 1].contains(&b'\\') {
            return None;
        }
        let start = key_end + 1;
        let end = value_end(object, start)?;
        members.push((i + 1..key_end - 1, start..end));
        match object.get(end) {
            Some(b',') => i = end + 1,
            _ => return Some(()),
        }
    }
}

/// The value of `key` in a minified object (the last one, as jq keeps
/// the last of duplicate keys), or `null`.
fn member<'t>(object: &'t [u8], key: &[u8]) -> Option<&'t [u8]> {
    let mut found: &[u8] = b"null";
    let mut i = 1;
    if object.get(i) == Some(&b'}') {
        return Some(found);
    }
    loop {
        let key_end = string_end(object, i)?;
        let name = &object[i + 1..key_end - 1];
        if name.contains(&b'\\') {
            return None;
        }
        // After the key: ':' then the value.
        let start = key_end + 1;
        let end = value_end(object, start)?;
        if name == key {
            found = &object[start..end];
        }
        match object.get(end) {
            Some(b',') => i = end + 1,
            _ => return Some(found),
        }
    }
}

/// The end (exclusive) of the string starting at `i`.
fn string_end(text: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    loop {
        let k = j + memchr::memchr2(b'"', b'\\', text.get(j..)?)?;
        if text[k] == b'"' {
            return Some(k + 1);
        }
        j = k + 2;
    }
}

/// The end (exclusive) of the value starting at `i`.
fn value_end(text: &[u8], i: usize) -> Option<usize> {
    match *text.get(i)? {
        b'"' => string_end(text, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            loop {
                match *text.get(j)? {
                    b'"' => {
                        j = string_end(text, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        _ => {
            let rest = &text[i..];
            Some(
                i + rest
                    .iter()
                    .position(|b| matches!(b, b',' | b'}' | b']'))
                    .unwrap_or(rest.len()),
            )
        }
    }
}

#[derive(Debug, PartialEq)]
enum Token {
    /// `.` followed by keys: `.`, `.a`, `.a.b`.
    Path(Vec<String>),
    Ident(String),
    Str(Vec<u8>),
    Number(f64),
    Pipe,
    Comma,
    Colon,
    Open,
    Close,
    OpenBrace,
    CloseBrace,
    Op(&'static str),
}

fn tokens(code: &str) -> Option<Vec<Token>> {
    let b = code.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let ident = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'.' => {
                let mut keys = Vec::new();
                while i < b.len() && b[i] == b'.' {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && ident(b[j]) {
                        j += 1;
                    }
                    if j == start {
                        i = j;
                        break;
                    }
                    if b[start].is_ascii_digit() {
                        return None;
                    }
                    keys.push(code[start..j].to_string());
                    i = j;
                }
                // `.[`, `..`, `.a[…]` and the like are not these shapes.
                if matches!(b.get(i), Some(b'[' | b'.' | b'?')) {
                    return None;
                }
                out.push(Token::Path(keys));
            }
            b'"' => {
                let end = i + 1 + b[i + 1..].iter().position(|&c| c == b'"')?;
                let inner = &b[i + 1..end];
                if inner.contains(&b'\\') {
                    return None;
                }
                out.push(Token::Str(inner.to_vec()));
                i = end + 1;
            }
            b'0'..=b'9' | b'-' => {
                let mut j = i + 1;
                while j < b.len()
                    && (b[j].is_ascii_digit() || matches!(b[j], b'.' | b'e' | b'E' | b'+' | b'-'))
                {
                    j += 1;
                }
                out.push(Token::Number(code[i..j].parse().ok()?));
                i = j;
            }
            b'|' => {
                if b.get(i + 1) == Some(&b'=') {
                    return None;
                }
                out.push(Token::Pipe);
                i += 1;
            }
            b',' | b':' | b'(' | b')' | b'{' | b'}' => {
                out.push(match c {
                    b',' => Token::Comma,
                    b':' => Token::Colon,
                    b'(' => Token::Open,
                    b')' => Token::Close,
                    b'{' => Token::OpenBrace,
                    _ => Token::CloseBrace,
                });
                i += 1;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = b.get(i + 1) == Some(&b'=');
                let op = match (c, two) {
                    (b'=', true) => "==",
                    (b'!', true) => "!=",
                    (b'<', true) => "<=",
                    (b'>', true) => ">=",
                    (b'<', false) => "<",
                    (b'>', false) => ">",
                    _ => return None,
                };
                out.push(Token::Op(op));
                i += if two { 2 } else { 1 };
            }
            c if ident(c) => {
                let start = i;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                out.push(Token::Ident(code[start..i].to_string()));
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Reader {
    tokens: Vec<Token>,
    at: usize,
}

impl Reader {
    fn next(&mut self) -> Option<&Token> {
        let t = self.tokens.get(self.at);
        self.at += 1;
        t
    }

    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.at)
    }

    fn expect(&mut self, want: Token) -> Option<()> {
        (self.next()? == &want).then_some(())
    }

    fn stage(&mut self) -> Option<Stage> {
        match self.next()? {
            Token::Ident(s) if s == "select" => {
                self.expect(Token::Open)?;
                let cond = self.or()?;
                self.expect(Token::Close)?;
                Some(Stage::Select(cond))
            }
            Token::Path(keys) => Some(Stage::Path(keys.clone())),
            Token::OpenBrace => {
                let mut entries = Vec::new();
                loop {
                    let key = match self.next()? {
                        Token::Ident(k) => k.clone(),
                        Token::Str(k) => String::from_utf8(k.clone()).ok()?,
                        _ => return None,
                    };
                    let path = if self.peek() == Some(&Token::Colon) {
                        self.at += 1;
                        match self.next()? {
                            Token::Path(keys) => keys.clone(),
                            _ => return None,
                        }
                    } else {
                        vec![key.clone()]
                    };
                    if key.bytes().any(|c| c < b' ' || c == b'"' || c >= 0x7f) {
                        return None;
                    }
                    entries.push((key, path));
                    match self.next()? {
                        Token::Comma => {}
                        Token::CloseBrace => return Some(Stage::Object(entries)),
                        _ => return None,
                    }
                }
            }
            _ => None,
        }
    }

    fn or(&mut self) -> Option<Cond> {
        let mut cond = self.and()?;
        while matches!(self.peek(), Some(Token::Ident(s)) if s == "or") {
            self.at += 1;
            cond = Cond::Or(Box::new(cond), Box::new(self.and()?));
        }
        Some(cond)
    }

    fn and(&mut self) -> Option<Cond> {
        let mut cond = self.comparison()?;
        while matches!(self.peek(), Some(Token::Ident(s)) if s == "and") {
            self.at += 1;
            cond = Cond::And(Box::new(cond), Box::new(self.comparison()?));
        }
        Some(cond)
    }

    fn comparison(&mut self) -> Option<Cond> {
        let Token::Path(keys) = self.next()? else {
            return None;
        };
        let keys = keys.clone();
        let Some(Token::Op(op)) = self.peek() else {
            return Some(Cond::Truthy(keys));
        };
        let op = match *op {
            "==" => Op::Eq,
            "!=" => Op::Ne,
            "<" => Op::Lt,
            "<=" => Op::Le,
            ">" => Op::Gt,
            _ => Op::Ge,
        };
        self.at += 1;
        let literal = match self.next()? {
            Token::Number(n) => Literal::Number(*n),
            Token::Str(s) => Literal::Str(s.clone()),
            Token::Ident(s) if s == "null" => Literal::Null,
            Token::Ident(s) if s == "true" => Literal::Bool(true),
            Token::Ident(s) if s == "false" => Literal::Bool(false),
            _ => return None,
        };
        Some(Cond::Compare(keys, op, literal))
    }
}

#[cfg(test)]
mod tests {
    use super::RawFilter;

    fn run(code: &str, text: &str, raw: bool) -> Option<Option<String>> {
        let filter = RawFilter::compile(code).unwrap_or_else(|| panic!("{code} compiles"));
        let mut out = Vec::new();
        let result = filter.run(text.as_bytes(), raw, &mut out)?;
        Some(result.map(|_| String::from_utf8(out).unwrap()))
    }

    #[test]
    fn shapes_it_takes_and_leaves() {
        for code in [
            ".",
            ".a.b",
            "select(.a > 1) | .b",
            "{id, c: .a.c}",
            "select(.a and .b == \"x\" or .c)",
        ] {
            assert!(RawFilter::compile(code).is_some(), "{code}");
        }
        for code in [
            ".[]",
            ".a[0]",
            "map(.a)",
            "{a} | .a",
            ".a |= 1",
            "select(.a > $x)",
            "..",
            "\"a\\n\"",
        ] {
            assert!(RawFilter::compile(code).is_none(), "{code}");
        }
    }

    #[test]
    fn answers_as_jq() {
        let rec =
            r#"{"id":7,"score":60.5,"name":"Ada","tags":["x"],"address":{"city":"Oslo"},"n":null}"#;
        assert_eq!(
            run("select(.score > 50) | .name", rec, false),
            Some(Some("\"Ada\"".into()))
        );
        assert_eq!(
            run("select(.score > 50) | .name", rec, true),
            Some(Some("Ada".into()))
        );
        assert_eq!(run("select(.score > 60.5) | .name", rec, false), Some(None));
        assert_eq!(
            run("{id, city: .address.city, z: .missing.deeper}", rec, false),
            Some(Some(r#"{"id":7,"city":"Oslo","z":null}"#.into()))
        );
        // jq's order of types: strings and arrays are above every number.
        assert_eq!(
            run("select(.name > 5) | .id", rec, false),
            Some(Some("7".into()))
        );
        assert_eq!(
            run("select(.n < 0) | .id", rec, false),
            Some(Some("7".into()))
        );
        assert_eq!(
            run("select(.name == \"Ada\" and .tags) | .id", rec, false),
            Some(Some("7".into()))
        );
        // Duplicate keys: the last wins, as in jq.
        assert_eq!(run(".a", r#"{"a":1,"a":2}"#, false), Some(Some("2".into())));
        // Left to the engine: escapes, paths through non-objects.
        assert_eq!(run(".a", r#"{"a":"x\n"}"#, false), None);
        assert_eq!(run(".a.b", r#"{"a":[1]}"#, false), None);
        assert_eq!(run(".a", r#"[1]"#, false), None);
    }
}
