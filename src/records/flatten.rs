//! JSON records to CSV rows: the one flattening used by `fkit csv from-json`
//! and `fkit json to-csv`.
//!
//! Records are the elements of a top-level array, or a stream of values
//! (NDJSON, or values separated by any whitespace). Nested objects and arrays
//! flatten to dotted keys (`address.city`, `tags.0`, 0-based like JSON
//! Pointer); an empty object or array is kept as `{}` / `[]`; null is an
//! empty field; strings are written raw; numbers keep every digit as
//! written (serde_json's arbitrary precision; a positive exponent gains its
//! `+` sign). The header is the union of all keys in first-seen order, so the
//! rows are spilled to a temporary file while the header grows, and written
//! out once it is complete: memory holds the header, never the data.

use crate::io::Input;
use crate::io::output::spill_file;
use anyhow::{Context, Result, anyhow};
use serde::de::{DeserializeSeed, Deserializer, SeqAccess, Visitor};
use serde_json::Value;
use std::collections::HashMap;
use std::fmt;
use std::io::{BufRead, BufReader, BufWriter, Read, Seek, Write};

/// Append the flattened `(key, value)` pairs of `value` to `out`. A record
/// that is not an object becomes one column named `value`.
pub fn flatten(value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(_) | Value::Array(_) => {
            let mut key = String::new();
            flatten_at(value, &mut key, out);
        }
        scalar => out.push(("value".to_string(), scalar_text(scalar))),
    }
}

fn flatten_at(value: &Value, key: &mut String, out: &mut Vec<(String, String)>) {
    let children: Box<dyn Iterator<Item = (String, &Value)>> = match value {
        Value::Object(map) if !map.is_empty() => Box::new(map.iter().map(|(k, v)| (k.clone(), v))),
        Value::Array(items) if !items.is_empty() => {
            Box::new(items.iter().enumerate().map(|(i, v)| (i.to_string(), v)))
        }
        Value::Object(_) => return out.push((key.clone(), "{}".to_string())),
        Value::Array(_) => return out.push((key.clone(), "[]".to_string())),
        scalar => return out.push((key.clone(), scalar_text(scalar))),
    };
    for (name, child) in children {
        let len = key.len();
        if !key.is_empty() {
            key.push('.');
        }
        key.push_str(&name);
        flatten_at(child, key, out);
        key.truncate(len);
    }
}

fn scalar_text(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Call `each` with every record of a JSON input: the elements of a
/// top-level array, or each value of a whitespace-separated stream. Streams:
/// one record in memory at a time.
pub fn for_each_record(input: &mut Input, mut each: impl FnMut(Value) -> Result<()>) -> Result<()> {
    let name = input.name().to_string();
    let first = loop {
        let buf = input.fill_buf().with_context(|| name.clone())?;
        match buf.iter().position(|b| !b" \t\r\n".contains(b)) {
            Some(i) => {
                let byte = buf[i];
                input.consume(i);
                break Some(byte);
            }
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                input.consume(n);
            }
        }
    };
    match first {
        None => Ok(()),
        Some(b'[') => {
            let mut de = serde_json::Deserializer::from_reader(&mut *input);
            let mut failure = None;
            de.deserialize_seq(Records {
                each: &mut each,
                failure: &mut failure,
            })
            .map_err(|e| failure.take().unwrap_or_else(|| anyhow!(e)))
            .with_context(|| name.clone())?;
            de.end().with_context(|| format!("{name}: after the array"))
        }
        Some(_) => {
            for value in serde_json::Deserializer::from_reader(&mut *input).into_iter::<Value>() {
                each(value.with_context(|| name.clone())?)?;
            }
            Ok(())
        }
    }
}

/// Visits a top-level array element by element, so it is never held whole.
struct Records<'a, F> {
    each: &'a mut F,
    failure: &'a mut Option<anyhow::Error>,
}

impl<'de, F: FnMut(Value) -> Result<()>> DeserializeSeed<'de> for Records<'_, F> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, F: FnMut(Value) -> Result<()>> Visitor<'de> for Records<'_, F> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of records")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(value) = seq.next_element::<Value>()? {
            if let Err(e) = (self.each)(value) {
                *self.failure = Some(e);
                return Err(serde::de::Error::custom("stopped"));
            }
        }
        Ok(())
    }
}

/// Write the records of `input` as CSV to `out`, header first.
pub fn json_to_csv(input: &mut Input, out: &mut dyn Write, delimiter: u8) -> Result<()> {
    // Pass 1: flatten each record into a spill file as (column index, value)
    // pairs, growing the header as new keys appear.
    let mut header: Vec<String> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let spill = spill_file(None)?;
    let mut spill = BufWriter::with_capacity(1 << 20, spill);
    let mut pairs = Vec::new();
    let mut records = 0u64;
    for_each_record(input, |value| {
        pairs.clear();
        flatten(&value, &mut pairs);
        write_u64(&mut spill, pairs.len() as u64)?;
        for (key, text) in pairs.drain(..) {
            let column = *index.entry(key).or_insert_with_key(|k| {
                header.push(k.clone());
                header.len() - 1
            });
            write_u64(&mut spill, column as u64)?;
            write_u64(&mut spill, text.len() as u64)?;
            spill.write_all(text.as_bytes())?;
        }
        records += 1;
        Ok(())
    })?;
    let mut spill = spill.into_inner().map_err(|e| e.into_error())?;
    spill.rewind()?;
    let mut spill = BufReader::with_capacity(1 << 20, spill);

    // Pass 2: the header is complete; write the rows in its order.
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .from_writer(out);
    if records > 0 {
        writer.write_record(&header)?;
    }
    let mut row: Vec<Vec<u8>> = vec![Vec::new(); header.len()];
    for _ in 0..records {
        row.iter_mut().for_each(Vec::clear);
        for _ in 0..read_u64(&mut spill)? {
            let column = read_u64(&mut spill)? as usize;
            let len = read_u64(&mut spill)? as usize;
            let field = &mut row[column];
            field.resize(len, 0);
            spill.read_exact(field)?;
        }
        writer.write_record(&row)?;
    }
    writer.flush()?;
    Ok(())
}

fn write_u64(w: &mut impl Write, n: u64) -> std::io::Result<()> {
    w.write_all(&n.to_le_bytes())
}

fn read_u64(r: &mut impl Read) -> std::io::Result<u64> {
    let mut bytes = [0u8; 8];
    r.read_exact(&mut bytes)?;
    Ok(u64::from_le_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flat(json: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        flatten(&serde_json::from_str(json).unwrap(), &mut out);
        out
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn nested_objects_and_arrays_get_dotted_keys() {
        assert_eq!(
            flat(r#"{"a":1,"b":{"c":"x","d":[true,null]},"e":{},"f":[]}"#),
            pairs(&[
                ("a", "1"),
                ("b.c", "x"),
                ("b.d.0", "true"),
                ("b.d.1", ""),
                ("e", "{}"),
                ("f", "[]")
            ])
        );
    }

    #[test]
    fn numbers_keep_every_digit() {
        // serde_json's arbitrary precision keeps the digits; it only spells
        // a positive exponent with its sign.
        assert_eq!(
            flat(r#"{"big":12345678901234567890,"huge":1e400,"exact":0.10000000000000000001}"#),
            pairs(&[
                ("big", "12345678901234567890"),
                ("huge", "1e+400"),
                ("exact", "0.10000000000000000001")
            ])
        );
    }

    #[test]
    fn scalar_records_are_one_column() {
        assert_eq!(flat("42"), pairs(&[("value", "42")]));
        assert_eq!(flat(r#""s""#), pairs(&[("value", "s")]));
    }
}
