//! jq's assignment rules for `=`, `|=`, `+=`, `-=`, `*=`, `/=`, `%=` and
//! `//=`. jaq's engine updates a value in place and stops where jq goes on:
//! on null (`{} | .a.b = 1`), past the end of an array (`.[3] = 4` on a
//! three-element array), and on a right-hand side with several outputs.
//! The user's filter is rewritten, token by token with jaq's own lexer, so
//! that each assignment calls a definition of compat.jq that tries jaq's
//! fast update first and, when it fails, does what jq does (paths,
//! `getpath`, and the native `setpath` of paths.rs).

use jaq_core::load::lex::{Lexer, Tok, Token};

/// The operators, and the definition each becomes.
const OPERATORS: [(&str, &str); 8] = [
    ("=", "_fkit_assign"),
    ("|=", "_fkit_modify"),
    ("+=", "_fkit_add"),
    ("-=", "_fkit_sub"),
    ("*=", "_fkit_mul"),
    ("/=", "_fkit_div"),
    ("%=", "_fkit_mod"),
    ("//=", "_fkit_alt"),
];

/// `code` with every assignment made a call, or `None` when it has none (or
/// does not lex: the compiler then reports the error on the original).
pub(super) fn rewrite(code: &str) -> Option<String> {
    let tokens = Lexer::new(code).lex().ok()?;
    if !has_assignment(&tokens) {
        return None;
    }
    let mut out = String::with_capacity(code.len() + 32);
    let start = tokens.first().map_or(code.len(), |t| offset(code, t));
    out.push_str(&code[..start]);
    emit(&tokens, code, &mut out);
    let end = tokens.last().map_or(code.len(), |t| end(code, t));
    out.push_str(&code[end..]);
    Some(out)
}

fn has_assignment(tokens: &[Token<&str>]) -> bool {
    tokens.iter().any(|t| match &t.1 {
        Tok::Block(inner) => has_assignment(inner),
        Tok::Sym => operator(t).is_some(),
        _ => false,
    })
}

fn operator(t: &Token<&str>) -> Option<&'static str> {
    match t.1 {
        Tok::Sym => OPERATORS.iter().find(|(op, _)| *op == t.0).map(|(_, f)| *f),
        _ => None,
    }
}

fn offset(code: &str, t: &Token<&str>) -> usize {
    t.0.as_ptr() as usize - code.as_ptr() as usize
}

fn end(code: &str, t: &Token<&str>) -> usize {
    offset(code, t) + t.0.len()
}

/// Is `t` the symbol or keyword `text`?
fn is(t: &Token<&str>, text: &str) -> bool {
    matches!(t.1, Tok::Sym | Tok::Word) && t.0 == text
}

/// Tokens that end an operand of an assignment: operators of lower
/// precedence (`|`, `,`, `//`), separators, and keywords between terms.
fn boundary(t: &Token<&str>) -> bool {
    operator(t).is_some()
        || ["|", ",", "//", ";", ":", ")", "]", "}"]
            .iter()
            .any(|s| is(t, s))
        || ["then", "else", "elif", "end", "catch", "if", "try", "def"]
            .iter()
            .any(|s| is(t, s))
}

/// Where the left operand of the operator at `k` starts.
fn lhs_start(tokens: &[Token<&str>], k: usize) -> usize {
    let mut depth = 0;
    let mut i = k;
    while i > 0 {
        let t = &tokens[i - 1];
        if is(t, "end") {
            depth += 1;
        } else if is(t, "if") && depth > 0 {
            depth -= 1;
        } else if depth == 0 && boundary(t) {
            break;
        }
        i -= 1;
    }
    i
}

/// Where the right operand of the operator at `k` ends (exclusive).
fn rhs_end(tokens: &[Token<&str>], k: usize) -> usize {
    let (mut ifs, mut tries) = (0, 0);
    let mut i = k + 1;
    while i < tokens.len() {
        let t = &tokens[i];
        if is(t, "if") {
            ifs += 1;
        } else if is(t, "end") && ifs > 0 {
            ifs -= 1;
        } else if is(t, "try") {
            tries += 1;
        } else if is(t, "catch") && tries > 0 {
            tries -= 1;
        } else if ifs == 0 && !is(t, "try") && boundary(t) {
            break;
        }
        i += 1;
    }
    i
}

/// Write `tokens` (a sequence at one nesting level) with each assignment
/// turned into a call.
fn emit(tokens: &[Token<&str>], code: &str, out: &mut String) {
    let found = tokens.iter().enumerate().find_map(|(k, t)| {
        let name = operator(t)?;
        let (a, b) = (lhs_start(tokens, k), rhs_end(tokens, k));
        (a < k && k + 1 < b).then_some((a, k, b, name))
    });
    let Some((a, k, b, name)) = found else {
        plain(tokens, code, out);
        return;
    };
    plain(&tokens[..a], code, out);
    if a > 0 {
        out.push_str(&code[end(code, &tokens[a - 1])..offset(code, &tokens[a])]);
    }
    out.push_str(name);
    out.push('(');
    emit(&tokens[a..k], code, out);
    out.push_str("; ");
    emit(&tokens[k + 1..b], code, out);
    out.push(')');
    if b < tokens.len() {
        out.push_str(&code[end(code, &tokens[b - 1])..offset(code, &tokens[b])]);
        emit(&tokens[b..], code, out);
    }
}

/// Write `tokens` as they were, blocks rewritten inside.
fn plain(tokens: &[Token<&str>], code: &str, out: &mut String) {
    for (i, t) in tokens.iter().enumerate() {
        if i > 0 {
            out.push_str(&code[end(code, &tokens[i - 1])..offset(code, t)]);
        }
        match &t.1 {
            Tok::Block(inner) if !inner.is_empty() => {
                let open = offset(code, t);
                out.push_str(&code[open..open + 1]);
                out.push_str(&code[open + 1..offset(code, &inner[0])]);
                emit(inner, code, out);
            }
            _ => out.push_str(t.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn assignments_become_calls() {
        assert_eq!(rewrite(".a.b = 1").unwrap(), "_fkit_assign(.a.b; 1)");
        assert_eq!(
            rewrite("reduce .[] as {$x,$y} (null; .x += $x | .y += [$y])").unwrap(),
            "reduce .[] as {$x,$y} (null; _fkit_add(.x; $x) | _fkit_add(.y; [$y]))"
        );
        assert_eq!(
            rewrite("if . then .a |= . + 1 else . end").unwrap(),
            "if . then _fkit_modify(.a; . + 1) else . end"
        );
        assert_eq!(
            rewrite(".a = if .b then 1 else 2 end | .c").unwrap(),
            "_fkit_assign(.a; if .b then 1 else 2 end) | .c"
        );
        assert_eq!(rewrite("(.a, .b) //= 3").unwrap(), "_fkit_alt((.a, .b); 3)");
        assert_eq!(rewrite(".a == 1"), None);
    }
}
