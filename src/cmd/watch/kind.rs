//! The kinds of change fkit reports (`-e`), each with the name it is
//! printed and asked for by.

/// A kind of reported change.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Kind {
    Create,
    Modify,
    Remove,
    Rename,
    Attrib,
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
            Kind::Overflow => "overflow",
        }
    }
}

/// The kinds to report, as bits: asked for each event.
#[derive(Clone, Copy, Debug, Default)]
pub(super) struct Kinds(u8);

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
