//! Lines as inotifywait prints them: `--format` with its conversions
//! (`%w %f %e %Xe %T %0 %n %%`), `--timefmt` (strftime, local time) and
//! `--csv`, so that scripts written for inotifywait read fkit's output.

use super::events::WatchEvent;
use super::kind::Kind;
use super::scope::{is_separator, path_bytes, rest_under};
use crate::io::Exit;
use anyhow::Result;
use jiff::tz::TimeZone;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// A --format template (or --csv's fixed one), ready to print events.
/// A path given to watch, as %w and %f need it.
pub(super) struct Given {
    /// As fkit spells the paths under it (no `./` parts; "" for ".").
    pub(super) path: PathBuf,
    /// As the user typed it: inotifywait's %w keeps that (`./d/`, `d//s/`).
    pub(super) typed: PathBuf,
    pub(super) is_dir: bool,
}

pub(super) struct Template {
    pieces: Vec<Piece>,
    /// --csv: each field quoted as CSV needs.
    csv: bool,
    /// A line feed after each event (not with --no-newline).
    newline: bool,
    /// --timefmt, and the zone it shows the time in.
    timefmt: Option<(String, TimeZone)>,
    /// The paths given, for %w and %f.
    roots: Vec<Given>,
    /// %T for the batch being printed: its time, and the text.
    time: Option<(SystemTime, Vec<u8>)>,
    /// The template shows %T: the time is formatted only then.
    shows_time: bool,
    /// One field, rendered before it is quoted.
    field: Vec<u8>,
    /// The line being rendered (kept: no allocation per event).
    line: Vec<u8>,
}

enum Piece {
    Text(Vec<u8>),
    /// %w: the watched directory (with a `/`) or file the event is in.
    Watched,
    /// %f: the name in the watched directory (empty for the watched path).
    File,
    /// %e (with `,`) or %Xe: the event's names.
    Events(Vec<u8>),
    /// %T: the time, as --timefmt says.
    Time,
}

impl Template {
    /// `--format FMT`.
    pub(super) fn parse(text: &str) -> Result<Template> {
        let mut pieces = Vec::new();
        let mut literal = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c != '%' {
                let mut buf = [0; 4];
                literal.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                continue;
            }
            let piece = match chars.next() {
                Some('%') => {
                    literal.push(b'%');
                    continue;
                }
                Some('0') => {
                    literal.push(0);
                    continue;
                }
                Some('n') => {
                    literal.push(b'\n');
                    continue;
                }
                Some('w') => Piece::Watched,
                Some('f') => Piece::File,
                Some('e') => Piece::Events(b",".to_vec()),
                Some('T') => Piece::Time,
                // %Xe: the names separated by X.
                Some(sep) if chars.peek() == Some(&'e') => {
                    chars.next();
                    Piece::Events(sep.to_string().into_bytes())
                }
                other => {
                    let what = other.map_or("%".to_string(), |c| format!("%{c}"));
                    return Err(Exit::usage(format!(
                        "bad --format \"{text}\": unknown conversion {what} \
                         (known: %w %f %e %Xe %T %0 %n %%)"
                    ))
                    .into());
                }
            };
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(piece);
        }
        if !literal.is_empty() {
            pieces.push(Piece::Text(literal));
        }
        Ok(Template::of(pieces, false))
    }

    /// `--csv`: `%w,%e,%f`, each field quoted where CSV needs it.
    pub(super) fn csv() -> Template {
        let comma = || Piece::Text(b",".to_vec());
        let pieces = vec![
            Piece::Watched,
            comma(),
            Piece::Events(b",".to_vec()),
            comma(),
            Piece::File,
        ];
        Template::of(pieces, true)
    }

    fn of(pieces: Vec<Piece>, csv: bool) -> Template {
        Template {
            shows_time: pieces.iter().any(|p| matches!(p, Piece::Time)),
            pieces,
            csv,
            newline: true,
            timefmt: None,
            roots: Vec::new(),
            time: None,
            field: Vec::new(),
            line: Vec::new(),
        }
    }

    /// `--timefmt FMT`: %T as strftime(3) writes it, in local time.
    /// (Without it, %T is fkit's RFC 3339 time in UTC.)
    pub(super) fn timefmt(mut self, format: Option<String>) -> Result<Template> {
        if let Some(format) = format.as_deref().map(c_locale) {
            let zone = TimeZone::system();
            let now = jiff::Timestamp::now().to_zoned(zone.clone());
            if let Err(e) = jiff::fmt::strtime::format(format.as_str(), &now) {
                return Err(Exit::usage(format!("bad --timefmt \"{format}\": {e}")).into());
            }
            self.timefmt = Some((format, zone));
        }
        Ok(self)
    }

    /// `--no-newline`.
    pub(super) fn newline(mut self, yes: bool) -> Template {
        self.newline = yes;
        self
    }

    /// The paths given, for %w and %f: (path, is a directory).
    pub(super) fn roots(mut self, roots: Vec<Given>) -> Template {
        self.roots = roots;
        self
    }

    /// Print `event`, read at `now`: one line, or two for a rename (its
    /// MOVED_FROM and MOVED_TO halves, as inotifywait prints them), each
    /// rendered whole and handed to `out` in one piece.
    pub(super) fn write(
        &mut self,
        out: &mut impl Write,
        event: &WatchEvent,
        now: SystemTime,
    ) -> Result<()> {
        // The clock is formatted only for a template that shows it, once
        // per batch of events read together.
        if self.shows_time && self.time.as_ref().is_none_or(|(t, _)| *t != now) {
            self.time = Some((now, self.time_text(now)));
        }
        match (&event.from, event.kind) {
            // (A save, a rename over a file, stays one MODIFY.)
            (Some(from), Kind::Rename) => {
                self.line(out, Some(from), &["MOVED_FROM"], event.is_dir)?;
                self.line(out, event.path.as_deref(), &["MOVED_TO"], event.is_dir)
            }
            _ => {
                let names = self.names(event);
                self.line(out, event.path.as_deref(), names, event.is_dir)
            }
        }
    }

    /// inotifywait's names for an event (the ISDIR flag aside): what came
    /// by a move is named for the move.
    fn names(&self, event: &WatchEvent) -> &'static [&'static str] {
        let own = event.path.as_deref().is_some_and(|p| self.is_root(p));
        match event.kind {
            Kind::Create if event.moved => &["MOVED_TO"],
            Kind::Create => &["CREATE"],
            Kind::Modify => &["MODIFY"],
            Kind::Remove if own && event.moved => &["MOVE_SELF"],
            Kind::Remove if own => &["DELETE_SELF"],
            Kind::Remove if event.moved => &["MOVED_FROM"],
            Kind::Remove => &["DELETE"],
            // (A rename without its old name: the half that was seen.)
            Kind::Rename | Kind::MovedTo => &["MOVED_TO"],
            Kind::MovedFrom => &["MOVED_FROM"],
            Kind::MoveSelf => &["MOVE_SELF"],
            Kind::Attrib => &["ATTRIB"],
            Kind::CloseWrite => &["CLOSE_WRITE", "CLOSE"],
            Kind::Access => &["ACCESS"],
            Kind::Open => &["OPEN"],
            Kind::CloseNowrite => &["CLOSE_NOWRITE", "CLOSE"],
            Kind::Overflow => &["Q_OVERFLOW"],
        }
    }

    /// A path given (compared as spelled: event paths are spelled as the
    /// roots are, see `scope::rest_under`).
    fn is_root(&self, path: &Path) -> bool {
        self.roots
            .iter()
            .any(|r| path_bytes(&r.path) == path_bytes(path))
    }

    /// One line, rendered into a buffer kept from line to line and written
    /// with one call.
    fn line(
        &mut self,
        out: &mut impl Write,
        path: Option<&Path>,
        names: &[&str],
        is_dir: bool,
    ) -> Result<()> {
        let mut line = std::mem::take(&mut self.line);
        line.clear();
        self.render(&mut line, path, names, is_dir);
        let written = out.write_all(&line);
        self.line = line;
        Ok(written?)
    }

    fn render(&mut self, line: &mut Vec<u8>, path: Option<&Path>, names: &[&str], is_dir: bool) {
        let (watched, file) = self.split(path);
        // As inotifywait: a directory's own end or move is not flagged ISDIR.
        let isdir = is_dir && names != ["DELETE_SELF"] && names != ["MOVE_SELF"];
        let mut field = std::mem::take(&mut self.field);
        for piece in &self.pieces {
            if let Piece::Text(text) = piece {
                line.extend_from_slice(text);
                continue;
            }
            // A CSV field is rendered apart, then quoted as it needs.
            let to = match self.csv {
                true => {
                    field.clear();
                    &mut field
                }
                false => &mut *line,
            };
            match piece {
                Piece::Text(_) => {}
                Piece::Watched => {
                    if let Some(dir) = watched {
                        self.put_watched(to, dir);
                    }
                }
                Piece::File => to.extend_from_slice(file.unwrap_or_default()),
                Piece::Events(sep) => {
                    let names = names.iter().chain(isdir.then_some(&"ISDIR"));
                    for (i, name) in names.enumerate() {
                        if i > 0 {
                            to.extend_from_slice(sep);
                        }
                        to.extend_from_slice(name.as_bytes());
                    }
                }
                Piece::Time => {
                    if let Some((_, text)) = &self.time {
                        to.extend_from_slice(text);
                    }
                }
            }
            if self.csv {
                put_csv_field(line, &field);
            }
        }
        self.field = field;
        if self.newline {
            line.push(b'\n');
        }
    }

    /// %w of a directory `dir` (or of a watched file): under the
    /// (innermost) root it is in, spelled as that root was typed, as
    /// inotifywait spells it: `./sub/` under `.`, `./d/s/` under `./d`.
    fn put_watched(&self, field: &mut Vec<u8>, dir: &[u8]) {
        let root = self
            .roots
            .iter()
            .filter_map(|r| Some((r, rest_under(dir, path_bytes(&r.path))?)))
            .max_by_key(|(r, _)| path_bytes(&r.path).len());
        match root {
            Some((r, rest)) => {
                put_path(field, path_bytes(&r.typed));
                if !rest.is_empty() {
                    if field.last() != Some(&b'/') {
                        field.push(b'/');
                    }
                    field.extend_from_slice(rest);
                }
            }
            None => put_path(field, dir),
        }
        // A watched file is %w itself, without a `/`.
        let file_root = root.is_some_and(|(r, _)| !r.is_dir && path_bytes(&r.path) == dir);
        if !file_root && field.last() != Some(&b'/') {
            field.push(b'/');
        }
    }

    /// %w and %f of a path: a path given is watched itself (no name);
    /// anything else is a name in its directory.
    fn split<'p>(&self, path: Option<&'p Path>) -> (Option<&'p [u8]>, Option<&'p [u8]>) {
        let Some(path) = path else {
            return (None, None);
        };
        let bytes = path_bytes(path);
        if self.is_root(path) {
            return (Some(bytes), None);
        }
        match bytes.iter().rposition(|&b| is_separator(b)) {
            // (The root directory keeps its `/`.)
            Some(0) => (Some(&bytes[..1]), Some(&bytes[1..])),
            Some(i) => (Some(&bytes[..i]), Some(&bytes[i + 1..])),
            None => (Some(&[][..]), Some(bytes)),
        }
    }

    fn time_text(&self, now: SystemTime) -> Vec<u8> {
        let Some((format, zone)) = &self.timefmt else {
            return super::report::stamp(now).to_vec();
        };
        let zoned = jiff::Timestamp::try_from(now)
            .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
            .to_zoned(zone.clone());
        // (Checked against the current time at the start.)
        jiff::fmt::strtime::format(format.as_str(), &zoned)
            .unwrap_or_default()
            .into_bytes()
    }
}

/// strftime's locale conversions spelled out as the C locale has them (as
/// inotifywait prints them, locale unset): jiff's own forms differ.
fn c_locale(format: &str) -> String {
    let mut out = String::with_capacity(format.len());
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('c') => out.push_str("%a %b %e %H:%M:%S %Y"),
            Some('x') => out.push_str("%m/%d/%y"),
            Some('X') => out.push_str("%H:%M:%S"),
            Some('r') => out.push_str("%I:%M:%S %p"),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

/// A path's bytes ("." for the current directory: inotifywait shows a
/// watched "." as `./`).
fn put_path(out: &mut Vec<u8>, path: &[u8]) {
    match path.is_empty() {
        true => out.push(b'.'),
        false => out.extend_from_slice(path),
    }
}

/// A CSV field as inotifywait writes it: in double quotes (doubled inside)
/// when it holds a comma, a quote or a line break.
fn put_csv_field(out: &mut Vec<u8>, field: &[u8]) {
    if !field
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r'))
    {
        return out.extend_from_slice(field);
    }
    out.push(b'"');
    for part in field.split_inclusive(|&b| b == b'"') {
        out.extend_from_slice(part);
        if part.ends_with(b"\"") {
            out.push(b'"');
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn event(kind: Kind, path: &str, from: Option<&str>, is_dir: bool) -> WatchEvent {
        WatchEvent {
            kind,
            path: Some(path.into()),
            from: from.map(PathBuf::from),
            is_dir,
            moved: false,
        }
    }

    fn given(path: &str, typed: &str, is_dir: bool) -> Given {
        Given {
            path: path.into(),
            typed: typed.into(),
            is_dir,
        }
    }

    fn print(t: &mut Template, e: &WatchEvent) -> String {
        let mut out = Vec::new();
        let at = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        t.write(&mut out, e, at).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn conversions_are_inotifywait_s() {
        let roots = vec![given("d", "d", true), given("f.txt", "f.txt", false)];
        let mut t = Template::parse("%w|%f|%e|%:e|%%|%0").unwrap().roots(roots);
        let close = event(Kind::CloseWrite, "d/sub/a b", None, false);
        assert_eq!(
            print(&mut t, &close),
            "d/sub/|a b|CLOSE_WRITE,CLOSE|CLOSE_WRITE:CLOSE|%|\0\n"
        );
        let mkdir = event(Kind::Create, "d/sub", None, true);
        assert_eq!(
            print(&mut t, &mkdir),
            "d/|sub|CREATE,ISDIR|CREATE:ISDIR|%|\0\n"
        );
        let own = event(Kind::Remove, "d", None, true);
        assert_eq!(print(&mut t, &own), "d/||DELETE_SELF|DELETE_SELF|%|\0\n");
        let file = event(Kind::Modify, "f.txt", None, false);
        assert_eq!(print(&mut t, &file), "f.txt||MODIFY|MODIFY|%|\0\n");
        let rename = event(Kind::Rename, "d/new", Some("d/old"), false);
        assert_eq!(
            print(&mut t, &rename),
            "d/|old|MOVED_FROM|MOVED_FROM|%|\0\nd/|new|MOVED_TO|MOVED_TO|%|\0\n"
        );
        let moved = |e: WatchEvent| WatchEvent { moved: true, ..e };
        for (e, names) in [
            (event(Kind::Create, "d/in", None, false), "MOVED_TO"),
            (event(Kind::Remove, "d/out", None, false), "MOVED_FROM"),
            (event(Kind::MovedTo, "d/in", None, true), "MOVED_TO,ISDIR"),
            (event(Kind::MovedFrom, "d/out", None, false), "MOVED_FROM"),
            (event(Kind::Remove, "d", None, true), "MOVE_SELF"),
            (event(Kind::MoveSelf, "f.txt", None, false), "MOVE_SELF"),
        ] {
            let mut t = Template::parse("%e")
                .unwrap()
                .roots(vec![given("d", "d", true), given("f.txt", "f.txt", false)]);
            assert_eq!(print(&mut t, &moved(e)), format!("{names}\n"));
        }
        assert!(Template::parse("%q").is_err());
        assert!(Template::parse("50%").is_err());
    }

    #[test]
    fn under_a_watched_dot_paths_start_with_dot_slash() {
        let mut t = Template::parse("%w|%f")
            .unwrap()
            .roots(vec![given("", ".", true)]);
        let top = event(Kind::Create, "a", None, false);
        assert_eq!(print(&mut t, &top), "./|a\n");
        let deep = event(Kind::Create, "s/b", None, false);
        assert_eq!(print(&mut t, &deep), "./s/|b\n");
    }

    #[test]
    fn roots_are_spelled_as_typed() {
        let mut t = Template::parse("%w|%f").unwrap().roots(vec![
            given("d", "./d", true),
            given("e", "e/", true),
            given("e/s", "e//s", true),
            given("f", "./f", false),
        ]);
        for (path, line) in [
            ("d/a", "./d/|a\n"),
            ("d/s/b", "./d/s/|b\n"),
            ("e/a", "e/|a\n"),
            ("e/t/a", "e/t/|a\n"),
            ("e/s/a", "e//s/|a\n"),
            ("f", "./f|\n"),
        ] {
            let e = event(Kind::Create, path, None, false);
            assert_eq!(print(&mut t, &e), line, "{path}");
        }
    }

    #[test]
    fn time_is_strftime_in_the_local_zone() {
        let mut t = Template::parse("%T %w%f")
            .unwrap()
            .timefmt(Some("%Y-%m-%d %H:%M:%S %s %j".into()))
            .unwrap();
        // (A fixed zone: the test must not depend on the machine's.)
        t.timefmt.as_mut().unwrap().1 = TimeZone::fixed(jiff::tz::offset(2));
        let e = event(Kind::Create, "d/x", None, false);
        assert_eq!(
            print(&mut t, &e),
            "2023-11-15 00:13:20 1700000000 319 d/x\n"
        );
        let mut c = Template::parse("%T")
            .unwrap()
            .timefmt(Some("%c|%x|%X|%%c".into()))
            .unwrap();
        c.timefmt.as_mut().unwrap().1 = TimeZone::UTC;
        assert_eq!(
            print(&mut c, &e),
            "Tue Nov 14 22:13:20 2023|11/14/23|22:13:20|%c\n"
        );
        let mut plain = Template::parse("%T").unwrap().newline(false);
        assert_eq!(print(&mut plain, &e), "2023-11-14T22:13:20.000Z");
        assert!(
            Template::parse("%T")
                .unwrap()
                .timefmt(Some("%Y %".into()))
                .is_err()
        );
    }

    #[test]
    fn csv_fields_are_quoted_as_inotifywait_quotes_them() {
        let mut t = Template::csv().roots(vec![given("d", "d", true)]);
        let cases = [
            (
                event(Kind::Create, "d/plain", None, false),
                "d/,CREATE,plain\n",
            ),
            (
                event(Kind::Create, "d/sp ace", None, false),
                "d/,CREATE,sp ace\n",
            ),
            (
                event(Kind::Create, "d/co,mma", None, false),
                "d/,CREATE,\"co,mma\"\n",
            ),
            (
                event(Kind::Create, "d/q\"uote", None, false),
                "d/,CREATE,\"q\"\"uote\"\n",
            ),
            (
                event(Kind::Create, "d/dir", None, true),
                "d/,\"CREATE,ISDIR\",dir\n",
            ),
        ];
        for (e, want) in cases {
            assert_eq!(print(&mut t, &e), want);
        }
    }
}
