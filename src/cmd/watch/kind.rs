//! The kinds of change fkit reports (`-e`), each with the name it is
//! printed and asked for by, and inotifywait's names for them.

use clap::ValueEnum;

/// A kind of reported change.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Create,
    Modify,
    /// (inotifywait's delete, delete_self and move_self: a watched
    /// directory moved away is gone from view.)
    #[value(alias = "delete", alias = "delete_self", alias = "move_self")]
    Remove,
    /// (inotifywait's halves of a move are one rename here; a move into or
    /// out of the tree is a create or a remove.)
    #[value(alias = "move", alias = "moved_from", alias = "moved_to")]
    Rename,
    Attrib,
    /// A file open for writing was closed: it is written (inotify only).
    #[value(name = "close_write", alias = "close-write")]
    CloseWrite,
    /// A file or directory was read (inotify only; asked for only).
    Access,
    /// A file or directory was opened (asked for only).
    Open,
    /// A file or directory opened read-only was closed (asked for only).
    #[value(name = "close_nowrite", alias = "close-nowrite")]
    CloseNowrite,
    /// The kernel's event queue overflowed: changes were lost. Always
    /// reported (not one of the kinds -e takes).
    #[value(skip)]
    Overflow,
}

impl Kind {
    /// As printed, and as -e takes it.
    pub(super) fn name(self) -> &'static str {
        match self {
            Kind::Create => "create",
            Kind::Modify => "modify",
            Kind::Remove => "remove",
            Kind::Rename => "rename",
            Kind::Attrib => "attrib",
            Kind::CloseWrite => "close_write",
            Kind::Access => "access",
            Kind::Open => "open",
            Kind::CloseNowrite => "close_nowrite",
            Kind::Overflow => "overflow",
        }
    }
}

/// The kinds to report, as bits: asked for each event.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Kinds(u16);

impl Kinds {
    pub(super) fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }

    pub(super) fn union(self, other: Kinds) -> Kinds {
        Kinds(self.0 | other.0)
    }
}

/// `-e`: a kind's name (or an alias), or inotifywait's `close`, which is
/// two kinds; the help lists them all.
pub(super) fn kinds_parser() -> impl clap::builder::TypedValueParser<Value = Kinds> {
    use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
    let close = PossibleValue::new("close").help("close_write and close_nowrite (inotifywait's)");
    let names = Kind::value_variants()
        .iter()
        .filter_map(ValueEnum::to_possible_value)
        .chain([close]);
    PossibleValuesParser::new(names.collect::<Vec<_>>()).map(|name: String| match name.as_str() {
        "close" => [Kind::CloseWrite, Kind::CloseNowrite].into_iter().collect(),
        // (Checked against the same names just now.)
        _ => Kind::from_str(&name, false).into_iter().collect(),
    })
}

impl FromIterator<Kind> for Kinds {
    fn from_iter<I: IntoIterator<Item = Kind>>(kinds: I) -> Kinds {
        Kinds(kinds.into_iter().fold(0, |bits, k| bits | 1 << k as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::builder::TypedValueParser;

    #[test]
    fn close_is_both_closes() {
        let cmd = clap::Command::new("t");
        let parse = |name: &str| kinds_parser().parse_ref(&cmd, None, name.as_ref());
        let close = parse("close").unwrap();
        assert!(close.contains(Kind::CloseWrite) && close.contains(Kind::CloseNowrite));
        assert!(!close.contains(Kind::Open));
        assert_eq!(
            parse("delete").unwrap(),
            [Kind::Remove].into_iter().collect()
        );
        assert!(parse("overflow").is_err(), "always reported, not asked for");
        assert!(parse("nope").is_err());
    }

    #[test]
    fn inotifywait_names_are_taken() {
        let kind = |name| Kind::from_str(name, false).unwrap();
        assert_eq!(kind("delete"), Kind::Remove);
        assert_eq!(kind("moved_to"), Kind::Rename);
        assert_eq!(kind("close_write"), Kind::CloseWrite);
        for k in Kind::value_variants() {
            assert_eq!(kind(k.name()), *k);
        }
    }
}
