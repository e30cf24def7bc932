//! Paths into a document: RFC 6901 JSON Pointers (`/users/0/name`) and the
//! dotted form (`.users[0].name`), and the streaming walk that finds them.

use super::parser::{Error, Flow, Parser, Skip};

/// A path as the user wrote it, and its steps.
#[derive(Debug, Clone)]
pub(crate) struct JsonPath {
    pub text: String,
    pub steps: Vec<Step>,
}

/// One step: an object key, which is also an array index when it is a
/// canonical decimal number (`0`, `17`; never `01`).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Step {
    key: String,
    index: Option<u64>,
}

impl Step {
    fn new(key: String) -> Step {
        let canonical = !key.is_empty()
            && key.bytes().all(|b| b.is_ascii_digit())
            && (key == "0" || !key.starts_with('0'));
        let index = if canonical { key.parse().ok() } else { None };
        Step { key, index }
    }
}

/// True when `text` reads as a path rather than a file name.
pub(crate) fn looks_like_path(text: &str) -> bool {
    text.is_empty() || text.starts_with(['/', '.', '['])
}

pub(crate) fn parse(text: &str) -> Result<JsonPath, String> {
    let steps = if text.is_empty() || text.starts_with('/') {
        pointer(text)?
    } else if text.starts_with(['.', '[']) {
        dotted(text)?
    } else {
        return Err(format!(
            "invalid path {text:?}: write a JSON Pointer (/users/0/name) or a dotted \
             path (.users[0].name)"
        ));
    };
    Ok(JsonPath {
        text: text.to_string(),
        steps: steps.into_iter().map(Step::new).collect(),
    })
}

/// RFC 6901: `""` is the whole document; `~1` is `/` and `~0` is `~`.
fn pointer(text: &str) -> Result<Vec<String>, String> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    text[1..]
        .split('/')
        .map(|token| {
            let mut key = String::with_capacity(token.len());
            let mut chars = token.chars();
            while let Some(c) = chars.next() {
                match (c, c == '~') {
                    (_, false) => key.push(c),
                    (_, true) => match chars.next() {
                        Some('0') => key.push('~'),
                        Some('1') => key.push('/'),
                        _ => {
                            return Err(format!(
                                "invalid JSON Pointer {text:?}: '~' must be followed by 0 or 1"
                            ));
                        }
                    },
                }
            }
            Ok(key)
        })
        .collect()
}

/// `.a.b[0]`, `.["a.b"]`, `."a b"`, `[2]`; `.` alone is the whole document.
fn dotted(text: &str) -> Result<Vec<String>, String> {
    let bad = |why: &str| format!("invalid path {text:?}: {why}");
    let bytes = text.as_bytes();
    let mut steps = Vec::new();
    let mut i = 0;
    if text == "." {
        return Ok(steps);
    }
    while i < bytes.len() {
        match bytes[i] {
            b'.' => {
                i += 1;
                match bytes.get(i) {
                    Some(b'[') => {}
                    Some(b'"') => {
                        let (key, next) = quoted(text, i).ok_or_else(|| bad("unclosed quote"))?;
                        steps.push(key);
                        i = next;
                    }
                    Some(_) => {
                        let end = text[i..].find(['.', '[']).map_or(text.len(), |k| i + k);
                        steps.push(text[i..end].to_string());
                        i = end;
                    }
                    None => return Err(bad("a name must follow '.'")),
                }
            }
            b'[' => {
                i += 1;
                if bytes.get(i) == Some(&b'"') {
                    let (key, next) = quoted(text, i).ok_or_else(|| bad("unclosed quote"))?;
                    steps.push(key);
                    i = next;
                } else {
                    let end = text[i..].find(']').map(|k| i + k);
                    let end = end.ok_or_else(|| bad("missing ']'"))?;
                    let index = &text[i..end];
                    let number = match index.bytes().all(|b| b.is_ascii_digit()) {
                        true => index.parse::<u64>().ok(),
                        false => None,
                    };
                    let number = number
                        .ok_or_else(|| bad("an index in [] must be a number, or a quoted key"))?;
                    steps.push(number.to_string());
                    i = end;
                }
                if bytes.get(i) != Some(&b']') {
                    return Err(bad("missing ']'"));
                }
                i += 1;
            }
            _ => return Err(bad("expected '.' or '[' between steps")),
        }
    }
    Ok(steps)
}

/// A JSON string starting at `text[at]` (a quote): its value, and the index after it.
fn quoted(text: &str, at: usize) -> Option<(String, usize)> {
    let bytes = text.as_bytes();
    let mut i = at + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => {
                let key = serde_json::from_str::<String>(&text[at..=i]).ok()?;
                return Some((key, i + 1));
            }
            _ => i += 1,
        }
    }
    None
}

/// Called with a path's number and the parser at its value, which the
/// callback must read whole (or leave, if the walk stops there).
pub(crate) type Found<'a> = dyn FnMut(usize, &mut Parser<'_>) -> Result<(), Error> + 'a;

/// Walk the value at `p` towards each path (its number, the steps still to
/// go), calling `found` as each is reached. Values off every path are
/// skipped without being built; the walk stops reading as soon as every
/// path is found (`remaining` reaches 0).
pub(crate) fn walk(
    p: &mut Parser<'_>,
    paths: &[(usize, &[Step])],
    remaining: &mut usize,
    found: &mut Found<'_>,
) -> Result<Flow, Error> {
    let here = paths.iter().filter(|(_, steps)| steps.is_empty()).count();
    if here > 0 {
        if paths.len() == 1 {
            found(paths[0].0, p)?;
            *remaining -= 1;
        } else {
            // Several paths meet here (one ends, others go deeper): read
            // this value once, then answer them all from memory.
            let bytes = p.capture()?;
            for (id, _) in paths.iter().filter(|(_, steps)| steps.is_empty()) {
                found(*id, &mut Parser::from_bytes(bytes.clone()))?;
                *remaining -= 1;
            }
            let deeper: Vec<_> = paths
                .iter()
                .filter(|(_, s)| !s.is_empty())
                .cloned()
                .collect();
            if !deeper.is_empty() {
                walk(&mut Parser::from_bytes(bytes), &deeper, remaining, found)?;
            }
        }
        return Ok(if *remaining == 0 {
            Flow::Stop
        } else {
            Flow::Continue
        });
    }
    match p.peek_token()? {
        Some(b'{') => p.members(&mut |p, key| {
            let next: Vec<_> = paths
                .iter()
                .filter(|(_, steps)| steps[0].key == key)
                .map(|(id, steps)| (*id, &steps[1..]))
                .collect();
            if next.is_empty() {
                p.value(&mut Skip)?;
                return Ok(Flow::Continue);
            }
            walk(p, &next, remaining, found)
        }),
        Some(b'[') => p.elements(&mut |p, index| {
            let next: Vec<_> = paths
                .iter()
                .filter(|(_, steps)| steps[0].index == Some(index))
                .map(|(id, steps)| (*id, &steps[1..]))
                .collect();
            if next.is_empty() {
                p.value(&mut Skip)?;
                return Ok(Flow::Continue);
            }
            walk(p, &next, remaining, found)
        }),
        _ => {
            p.value(&mut Skip)?;
            Ok(Flow::Continue)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<String> {
        parse(text)
            .unwrap()
            .steps
            .into_iter()
            .map(|s| s.key)
            .collect()
    }

    #[test]
    fn parses_both_forms() {
        assert_eq!(keys("/users/0/name"), ["users", "0", "name"]);
        assert_eq!(keys(".users[0].name"), ["users", "0", "name"]);
        assert_eq!(keys("/a~1b/m~0n"), ["a/b", "m~n"]);
        assert_eq!(keys(r#".["a.b"]."c d"[10]"#), ["a.b", "c d", "10"]);
        assert!(keys("").is_empty());
        assert!(keys(".").is_empty());
        assert_eq!(keys("/"), [""]);
        assert!(parse("users").is_err());
        assert!(parse(".a[x]").is_err());
        assert!(parse("/a~2").is_err());
        assert_eq!(Step::new("01".into()).index, None);
        assert_eq!(Step::new("10".into()).index, Some(10));
    }
}
