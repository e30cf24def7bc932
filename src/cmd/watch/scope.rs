//! What is watched and what is reported: the paths given, and the kinds,
//! globs, ignores and .gitignore files that filter what happens under them.

use super::kind::Kinds;
use crate::io::Exit;
use anyhow::{Context, Result};
use globset::{Glob, GlobSet, GlobSetBuilder};
use ignore::gitignore::{Gitignore, GitignoreBuilder};
use regex::bytes::RegexSet;
use std::collections::HashMap;
use std::fmt;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A path given on the command line.
pub(super) struct Root {
    /// As given, without `./` parts ("" for the current directory).
    pub(super) path: PathBuf,
    /// As typed (`./d/`), for inotifywait's %w, which keeps the spelling.
    pub(super) typed: PathBuf,
    /// Absolute, as notify reports paths under it.
    #[cfg_attr(all(target_os = "linux", not(test)), allow(dead_code))]
    pub(super) abs: PathBuf,
    pub(super) is_dir: bool,
    gitignore: Option<Gitignore>,
}

impl Root {
    /// The paths given (the current directory if none), each of which must
    /// exist; with `gitignore`, a directory's .gitignore is read.
    pub(super) fn given(paths: &[PathBuf], gitignore: bool) -> Result<Vec<Root>> {
        let here = [PathBuf::from(".")];
        let paths = if paths.is_empty() { &here[..] } else { paths };
        let cwd = std::env::current_dir().context("current directory")?;
        let mut roots = Vec::new();
        for path in paths {
            let meta = std::fs::metadata(path).with_context(|| path.display().to_string())?;
            roots.push(Root {
                path: normal(path),
                typed: path.clone(),
                abs: normal(&cwd.join(path)),
                is_dir: meta.is_dir(),
                gitignore: (gitignore && meta.is_dir()).then(|| gitignore_of(path)),
            });
        }
        Ok(roots)
    }

    /// The directory whose watch sees this root's changes: a file is
    /// watched through its directory (a save replaces the file's inode).
    pub(super) fn watched_dir(&self) -> &Path {
        match self.is_dir {
            true => &self.path,
            false => self.path.parent().unwrap_or(Path::new("")),
        }
    }
}

/// Which paths are reported: roots, kinds, globs and ignores.
pub(super) struct Scope {
    pub(super) roots: Vec<Root>,
    /// With --gitignore: the .gitignore files of directories below the roots.
    nested: Mutex<HashMap<PathBuf, Option<Arc<Gitignore>>>>,
    pub(super) kinds: Kinds,
    globs: Option<(GlobSet, GlobSet)>,
    ignores: Option<(GlobSet, GlobSet)>,
    pub(super) recursive: bool,
    /// --ignore-file: patterns matched against paths relative to a root.
    ignore_files: Option<Gitignore>,
    /// Leave out version-control directories (not --include-vcs).
    hide_vcs: bool,
    /// --include, --includei: only paths one of these matches.
    include: Option<RegexSet>,
    /// --exclude, --excludei: leave out paths one of these matches.
    exclude: Option<RegexSet>,
    /// `@PATH` (--fromfile, or an argument): left out with all under it.
    excluded: Vec<PathBuf>,
    /// Every path under a root is reported: no globs, no ignores, no
    /// watched files (so no neighbours of theirs to leave out).
    everything: bool,
}

/// Version-control directories, left out unless --include-vcs (as
/// watchexec does): a commit's churn there is nobody's edit.
const VCS_DIRS: [&str; 3] = [".git", ".hg", ".svn"];

impl Scope {
    pub(super) fn new(
        roots: Vec<Root>,
        kinds: Kinds,
        globs: Option<(GlobSet, GlobSet)>,
        ignores: Option<(GlobSet, GlobSet)>,
        recursive: bool,
    ) -> Scope {
        let everything = globs.is_none()
            && ignores.is_none()
            && roots.iter().all(|r| r.is_dir && r.gitignore.is_none());
        Scope {
            roots,
            nested: Mutex::new(HashMap::new()),
            kinds,
            globs,
            ignores,
            recursive,
            ignore_files: None,
            hide_vcs: false,
            include: None,
            exclude: None,
            excluded: Vec::new(),
            everything,
        }
    }

    /// Also leave out what the `--ignore-file`s say and, unless
    /// `include_vcs`, version-control directories.
    pub(super) fn ignoring(mut self, files: Option<Gitignore>, include_vcs: bool) -> Scope {
        self.hide_vcs = !include_vcs;
        self.everything &= files.is_none() && include_vcs;
        self.ignore_files = files;
        self
    }

    /// Also only what `include` matches, and not what `exclude` matches
    /// (regular expressions on the path, a directory's also with a `/` at
    /// the end, as inotifywait matches them), nor the paths `excluded` (and all
    /// under them) unless given as roots.
    pub(super) fn filtering(
        mut self,
        include: Option<RegexSet>,
        exclude: Option<RegexSet>,
        excluded: Vec<PathBuf>,
    ) -> Scope {
        self.everything &= include.is_none() && exclude.is_none() && excluded.is_empty();
        self.include = include;
        self.exclude = exclude;
        self.excluded = excluded.iter().map(|p| normal(p)).collect();
        self
    }

    /// A directory given on the command line.
    pub(super) fn is_root_dir(&self, path: &Path) -> bool {
        self.roots.iter().any(|r| r.is_dir && r.path == path)
    }

    /// `path` is a file given to watch (not a directory).
    pub(super) fn is_root_file(&self, path: &Path) -> bool {
        self.roots.iter().any(|r| !r.is_dir && r.path == path)
    }

    /// A new directory here is watched too (with -r, and not ignored).
    pub(super) fn watches_new_dir(&self, path: &Path) -> bool {
        self.recursive && self.in_tree(path) && !self.ignored(path, true)
    }

    /// Under a directory root being watched recursively.
    fn in_tree(&self, path: &Path) -> bool {
        self.roots
            .iter()
            .any(|r| r.is_dir && is_under(path, &r.path))
    }

    /// The root that `path` belongs to, if any.
    fn root_of(&self, path: &Path) -> Option<&Root> {
        self.roots.iter().find(|r| {
            if r.is_dir {
                is_under(path, &r.path)
            } else {
                path_bytes(path) == path_bytes(&r.path)
            }
        })
    }

    pub(super) fn ignored(&self, path: &Path, is_dir: bool) -> bool {
        let Some(root) = self.root_of(path) else {
            return false;
        };
        // (A path given and also excluded is watched, as in inotifywait.)
        if !self.excluded.is_empty()
            && path != root.path
            && self.excluded.iter().any(|x| path.starts_with(x))
        {
            return true;
        }
        if let Some(exclude) = &self.exclude
            && path != root.path
            && (exclude.is_match(&regex_subject(path, false))
                || is_dir && exclude.is_match(&regex_subject(path, true)))
        {
            return true;
        }
        // (On the bytes: this runs for every event, between the kernel's
        // event and the printed line.)
        if self.hide_vcs
            && rest_under(path_bytes(path), path_bytes(&root.path))
                .unwrap_or(path_bytes(path))
                .split(|&b| is_separator(b))
                .any(|part| VCS_DIRS.iter().any(|v| part == v.as_bytes()))
        {
            return true;
        }
        if self.ignore_files.is_none() && self.ignores.is_none() && root.gitignore.is_none() {
            return false;
        }
        let rel = path.strip_prefix(&root.path).unwrap_or(path);
        if let Some(files) = &self.ignore_files
            && !rel.as_os_str().is_empty()
            && files.matched_path_or_any_parents(rel, is_dir).is_ignore()
        {
            return true;
        }
        if let Some((names, paths)) = &self.ignores {
            let mut p = Some(rel);
            // An ignored directory hides everything under it.
            while let Some(part) = p.filter(|p| !p.as_os_str().is_empty()) {
                if paths.is_match(part) || part.file_name().is_some_and(|n| names.is_match(n)) {
                    return true;
                }
                p = part.parent();
            }
        }
        let Some(gi) = &root.gitignore else {
            return false;
        };
        if rel.as_os_str().is_empty() {
            return false;
        }
        // As in git, a deeper .gitignore decides before a shallower one.
        let mut dir = rel.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty()) {
            if let Some(nested) = self.nested_gitignore(&root.path.join(d))
                && let Ok(sub) = rel.strip_prefix(d)
            {
                let verdict = nested.matched_path_or_any_parents(sub, is_dir);
                if verdict.is_ignore() {
                    return true;
                }
                if verdict.is_whitelist() {
                    return false;
                }
            }
            dir = d.parent();
        }
        gi.matched_path_or_any_parents(rel, is_dir).is_ignore()
    }

    /// The .gitignore of a directory below a root, read once when first needed.
    fn nested_gitignore(&self, dir: &Path) -> Option<Arc<Gitignore>> {
        let mut cache = self.nested.lock().unwrap_or_else(|e| e.into_inner());
        cache
            .entry(dir.to_path_buf())
            .or_insert_with(|| {
                let files = [dir.join(".gitignore"), dir.join(".ignore")];
                if !files.iter().any(|f| f.is_file()) {
                    return None;
                }
                let mut builder = GitignoreBuilder::new(dir);
                for file in files {
                    builder.add(file);
                }
                builder.build().ok().map(Arc::new)
            })
            .clone()
    }

    /// Reported: inside a root, not ignored, and matching --glob if given.
    pub(super) fn wants(&self, path: &Path) -> bool {
        if self.everything {
            return true; // (a backend only reports paths under its roots)
        }
        let Some(root) = self.root_of(path) else {
            return false;
        };
        if self.ignored(path, false) {
            return false;
        }
        if let Some(include) = &self.include
            && !include.is_match(&regex_subject(path, false))
        {
            return false;
        }
        match &self.globs {
            None => true,
            Some((names, paths)) => {
                let rel = path.strip_prefix(&root.path).unwrap_or(path);
                paths.is_match(rel) || path.file_name().is_some_and(|n| names.is_match(n))
            }
        }
    }
}

/// Globs without `/` match a file name; the others a path relative to the
/// watched directory.
pub(super) fn glob_sets(globs: &[String]) -> Result<Option<(GlobSet, GlobSet)>> {
    if globs.is_empty() {
        return Ok(None);
    }
    let (mut names, mut paths) = (GlobSetBuilder::new(), GlobSetBuilder::new());
    for text in globs {
        let glob = Glob::new(text).map_err(|e| Exit::usage(format!("bad glob \"{text}\": {e}")))?;
        if text.contains('/') {
            paths.add(glob);
        } else {
            names.add(glob);
        }
    }
    Ok(Some((names.build()?, paths.build()?)))
}

/// The paths to watch and the paths to leave out, from the arguments and
/// --fromfile FILE (`-`: stdin), one a line: as inotifywait reads them, an
/// entry `@PATH` leaves PATH out.
pub(super) fn watch_list(
    args: &[PathBuf],
    fromfile: Option<&Path>,
) -> Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut entries: Vec<PathBuf> = args.to_vec();
    if let Some(file) = fromfile {
        let mut input = crate::io::Input::at(Some(file)).open()?;
        let mut text = Vec::new();
        std::io::Read::read_to_end(&mut input, &mut text)
            .with_context(|| input.name().to_string())?;
        for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            entries.push(path_of(line.strip_suffix(b"\r").unwrap_or(line)));
        }
        if entries.iter().all(|p| is_exclusion(p)) {
            let name = input.name();
            return Err(Exit::usage(format!("{name}: no paths to watch")).into());
        }
    }
    let (excluded, watched): (Vec<PathBuf>, Vec<PathBuf>) =
        entries.into_iter().partition(|p| is_exclusion(p));
    let excluded = excluded
        .iter()
        .map(|p| path_of(&p.as_os_str().as_encoded_bytes()[1..]))
        .collect();
    Ok((watched, excluded))
}

fn is_exclusion(path: &Path) -> bool {
    path.as_os_str().as_encoded_bytes().starts_with(b"@")
}

/// A path from a line's bytes (as the kernel has them, on Unix).
fn path_of(bytes: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        PathBuf::from(std::ffi::OsString::from_vec(bytes.to_vec()))
    }
    #[cfg(not(unix))]
    PathBuf::from(String::from_utf8_lossy(bytes).into_owned())
}

/// --include/--exclude and their case-insensitive twins as one set: any
/// of the patterns matches (inotifywait keeps only the last of each).
pub(super) fn regex_set(exact: &[String], caseless: &[String]) -> Result<Option<RegexSet>> {
    if exact.is_empty() && caseless.is_empty() {
        return Ok(None);
    }
    let mut patterns = Vec::new();
    for (list, flags) in [(exact, ""), (caseless, "i")] {
        for p in list {
            // Each alone first, so that an error names the one at fault.
            regex::bytes::Regex::new(p)
                .map_err(|e| Exit::usage(format!("bad regular expression \"{p}\": {e}")))?;
            patterns.push(match flags {
                "" => p.clone(),
                f => format!("(?{f}:{p})"),
            });
        }
    }
    Ok(Some(RegexSet::new(patterns)?))
}

/// What --include and --exclude match: the path as printed (a directory's
/// also with a `/` at the end, as inotifywait's recursive watches name
/// it).
fn regex_subject(path: &Path, is_dir: bool) -> Vec<u8> {
    let mut bytes = path.as_os_str().as_encoded_bytes().to_vec();
    if is_dir {
        bytes.push(b'/');
    }
    bytes
}

/// --ignore-file: each FILE in .gitignore's syntax, its patterns matched
/// against paths relative to each watched directory.
pub(super) fn ignore_files(files: &[PathBuf]) -> Result<Option<Gitignore>> {
    if files.is_empty() {
        return Ok(None);
    }
    // Root "." : the paths asked about are relative already, none stripped.
    let mut builder = GitignoreBuilder::new(".");
    for file in files {
        if let Some(e) = builder.add(file) {
            return Err(anyhow::Error::new(e).context(file.display().to_string()));
        }
    }
    Ok(Some(builder.build()?))
}

fn gitignore_of(dir: &Path) -> Gitignore {
    let mut builder = GitignoreBuilder::new(dir);
    builder.add(dir.join(".gitignore"));
    // ripgrep's and watchexec's own ignore file, above .gitignore.
    builder.add(dir.join(".ignore"));
    builder.add(dir.join(".git/info/exclude"));
    let _ = builder.add_line(None, ".git/");
    builder.build().unwrap_or_else(|_| Gitignore::empty())
}

/// A path as the user wrote it, without `./` parts.
pub(super) fn normal(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// A path's bytes (as the kernel has them on Unix).
pub(super) fn path_bytes(path: &Path) -> &[u8] {
    path.as_os_str().as_encoded_bytes()
}

/// A byte that separates a path's components.
pub(super) fn is_separator(b: u8) -> bool {
    b == b'/' || (cfg!(windows) && b == b'\\')
}

/// What follows `dir` and its separator in `path`, if `path` is `dir` or
/// under it ("" is the current directory, over every relative path):
/// `Path::starts_with` on the bytes, for paths spelled as fkit spells them
/// (`normal`, then names joined with one separator), without parsing
/// components for every event.
pub(super) fn rest_under<'p>(path: &'p [u8], dir: &[u8]) -> Option<&'p [u8]> {
    let rest = path.strip_prefix(dir)?;
    match rest.split_first() {
        None => Some(rest),
        _ if dir.is_empty() || dir.last().is_some_and(|&b| is_separator(b)) => Some(rest),
        Some((&sep, rest)) if is_separator(sep) => Some(rest),
        _ => None,
    }
}

fn is_under(path: &Path, dir: &Path) -> bool {
    rest_under(path_bytes(path), path_bytes(dir)).is_some()
}

/// A path in messages and in FKIT_PATHS: "." for the current directory.
pub(super) fn shown(path: &Path) -> String {
    Shown(path).to_string()
}

/// A path for output: "." for the current directory.
pub(super) struct Shown<'a>(pub(super) &'a Path);

impl fmt::Display for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.as_os_str().is_empty() {
            f.write_str(".")
        } else {
            self.0.display().fmt(f)
        }
    }
}

impl serde::Serialize for Shown<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::super::kind::Kind;
    use super::*;

    /// A recursive watch of the directory `root` (at /work/x/`root`) for
    /// the default kinds.
    pub(in crate::cmd::watch) fn scope(root: &str, globs: &[&str], ignores: &[&str]) -> Scope {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        Scope::new(
            vec![Root {
                path: normal(Path::new(root)),
                typed: PathBuf::from(root),
                abs: PathBuf::from("/work/x").join(normal(Path::new(root))),
                is_dir: true,
                gitignore: None,
            }],
            [Kind::Create, Kind::Modify, Kind::Remove, Kind::Rename]
                .into_iter()
                .collect(),
            glob_sets(&own(globs)).unwrap(),
            glob_sets(&own(ignores)).unwrap(),
            true,
        )
    }

    #[test]
    fn globs_match_names_or_relative_paths() {
        let s = scope("src", &["*.rs", "doc/**/*.md"], &["target", "*.tmp"]);
        assert!(s.wants(Path::new("src/deep/a.rs")));
        assert!(s.wants(Path::new("src/doc/x/y.md")));
        assert!(!s.wants(Path::new("src/a.c")));
        assert!(!s.wants(Path::new("src/target/a.rs")));
        assert!(!s.wants(Path::new("src/b.tmp")));
        assert!(!s.wants(Path::new("elsewhere/a.rs")));
        assert!(s.ignored(Path::new("src/target"), true));
    }

    #[test]
    fn include_exclude_and_excluded_paths() {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let include = regex_set(&own(&[r"\.rs$"]), &own(&[r"\.MD$"])).unwrap();
        let exclude = regex_set(&own(&["/target/"]), &[]).unwrap();
        let s = scope("src", &[], &[]).filtering(include, exclude, vec!["./src/gen".into()]);
        assert!(s.wants(Path::new("src/a.rs")));
        assert!(s.wants(Path::new("src/doc/read.md")), "--includei");
        assert!(!s.wants(Path::new("src/a.c")));
        assert!(
            s.ignored(Path::new("src/target"), true),
            "a directory ends in /"
        );
        assert!(!s.wants(Path::new("src/target/x.rs")));
        assert!(s.ignored(Path::new("src/gen/deep"), true));
        assert!(!s.ignored(Path::new("src/generated"), true));
        assert!(
            !s.ignored(Path::new("src"), true),
            "a root is never left out"
        );
        assert!(regex_set(&own(&["("]), &[]).is_err());
    }

    #[test]
    fn version_control_directories_are_left_out_unless_asked_for() {
        let s = scope("src", &[], &[]).ignoring(None, false);
        assert!(s.ignored(Path::new("src/.git"), true));
        assert!(!s.wants(Path::new("src/sub/.hg/store/x")));
        assert!(s.wants(Path::new("src/.gitignore")));
        let s = scope(".git", &[], &[]).ignoring(None, false);
        assert!(s.wants(Path::new(".git/HEAD")), "a root is never left out");
        let s = scope("src", &[], &[]).ignoring(None, true);
        assert!(s.wants(Path::new("src/.svn/entries")));
    }

    #[test]
    fn rest_under_is_starts_with_on_the_bytes() {
        for (path, dir, rest) in [
            ("src/a.rs", "src", Some("a.rs")),
            ("src", "src", Some("")),
            ("src/d/x", "src", Some("d/x")),
            ("srcs/x", "src", None),
            ("sr", "src", None),
            ("a/b", "", Some("a/b")),
            ("", "", Some("")),
            ("/etc/x", "/", Some("etc/x")),
            ("/", "/", Some("")),
            ("/etc/x", "/etc", Some("x")),
        ] {
            let got = rest_under(path.as_bytes(), dir.as_bytes());
            assert_eq!(got, rest.map(str::as_bytes), "{path} under {dir}");
            assert_eq!(got.is_some(), Path::new(path).starts_with(dir), "{path}");
        }
    }
}
