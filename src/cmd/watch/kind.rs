//! The kinds of change fkit reports (`-e`), each with the name it is
//! printed and asked for by, and inotifywait's names for them.

/// A kind of reported change.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Create,
    Modify,
    #[value(alias = "delete", alias = "delete_self")]
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
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Kinds(u16);

impl Kinds {
    pub(super) fn contains(self, kind: Kind) -> bool {
        self.0 & (1 << kind as u8) != 0
    }
}

impl FromIterator<Kind> for Kinds {
    fn from_iter<I: IntoIterator<Item = Kind>>(kinds: I) -> Kinds {
        Kinds(kinds.into_iter().fold(0, |bits, k| bits | 1 << k as u8))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

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
