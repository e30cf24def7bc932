//! `setpath` and `delpaths` with jq's rules, which jaq's definitions (in
//! terms of its update operators) do not follow: setting a path through
//! null creates the objects and arrays on the way, an index past the end of
//! an array pads it with nulls, and deleting several paths deletes each from
//! the original value (the last first), so that `del(.[1, 2])` removes two
//! elements.

use super::Value;
use jaq_json::{Map, Rc};

/// The value with `x` at `path`.
pub(super) fn set(value: Value, path: &[Value], x: Value) -> Result<Value, String> {
    let Some((key, rest)) = path.split_first() else {
        return Ok(x);
    };
    match (value, key) {
        (Value::Null, Value::TStr(_)) => set(Value::obj(Map::default()), path, x),
        (Value::Null, Value::Num(_)) => set(Value::Arr(Rc::new(Vec::new())), path, x),
        (Value::Obj(mut members), Value::TStr(_)) => {
            let map = Rc::make_mut(&mut members);
            let child = map.get(key).cloned().unwrap_or(Value::Null);
            map.insert(key.clone(), set(child, rest, x)?);
            Ok(Value::Obj(members))
        }
        (Value::Arr(mut items), Value::Num(n)) => {
            let i = n
                .as_isize()
                .ok_or_else(|| format!("cannot index an array with {key}"))?;
            let len = items.len() as isize;
            let i = if i < 0 { i + len } else { i };
            if i < 0 {
                return Err("Out of bounds negative array index".into());
            }
            let list = Rc::make_mut(&mut items);
            let i = i as usize;
            if i >= list.len() {
                list.resize(i + 1, Value::Null);
            }
            let child = std::mem::take(&mut list[i]);
            list[i] = set(child, rest, x)?;
            Ok(Value::Arr(items))
        }
        (value, key) => Err(format!("cannot index {} with {key}", type_name(&value))),
    }
}

/// The value without any of `paths`.
pub(super) fn delete_all(mut value: Value, paths: &[Value]) -> Result<Value, String> {
    let mut paths: Vec<&[Value]> = paths
        .iter()
        .map(|p| match p {
            Value::Arr(keys) => Ok(keys.as_slice()),
            other => Err(format!("path must be specified as an array, not {other}")),
        })
        .collect::<Result<_, _>>()?;
    // The longest and last paths first, so that earlier indexes stay valid.
    paths.sort();
    for path in paths.into_iter().rev() {
        value = delete(value, path)?;
    }
    Ok(value)
}

fn delete(value: Value, path: &[Value]) -> Result<Value, String> {
    let Some((key, rest)) = path.split_first() else {
        return Ok(Value::Null);
    };
    match (value, key) {
        (Value::Null, _) => Ok(Value::Null),
        (Value::Obj(mut members), Value::TStr(_)) => {
            let map = Rc::make_mut(&mut members);
            if rest.is_empty() {
                map.shift_remove(key);
            } else if let Some(child) = map.get_mut(key) {
                *child = delete(std::mem::take(child), rest)?;
            }
            Ok(Value::Obj(members))
        }
        (Value::Arr(mut items), Value::Num(n)) => {
            let Some(i) = n.as_isize() else {
                return Err(format!("cannot delete index {key} of an array"));
            };
            let len = items.len() as isize;
            let i = if i < 0 { i + len } else { i };
            if i < 0 || i >= len {
                return Ok(Value::Arr(items));
            }
            let list = Rc::make_mut(&mut items);
            if rest.is_empty() {
                list.remove(i as usize);
            } else {
                let child = std::mem::take(&mut list[i as usize]);
                list[i as usize] = delete(child, rest)?;
            }
            Ok(Value::Arr(items))
        }
        (value, key) => Err(format!(
            "cannot delete field {key} of {}",
            type_name(&value)
        )),
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Num(_) => "number",
        Value::TStr(_) | Value::BStr(_) => "string",
        Value::Arr(_) => "array",
        Value::Obj(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::parse_json;

    fn json(text: &str) -> Value {
        parse_json(text.as_bytes()).unwrap()
    }

    #[test]
    fn set_creates_what_is_missing() {
        let path = json(r#"[0, "a"]"#);
        let Value::Arr(keys) = path else { panic!() };
        assert_eq!(
            set(Value::Null, &keys, json("1")).unwrap(),
            json(r#"[{"a":1}]"#)
        );
        let Value::Arr(keys) = json("[3]") else {
            panic!()
        };
        assert_eq!(
            set(json("[1]"), &keys, json("4")).unwrap(),
            json("[1,null,null,4]")
        );
    }

    #[test]
    fn delete_all_removes_each_from_the_original() {
        let Value::Arr(paths) = json("[[1],[2]]") else {
            panic!()
        };
        assert_eq!(
            delete_all(json(r#"["a","b","c","d"]"#), &paths).unwrap(),
            json(r#"["a","d"]"#)
        );
    }
}
