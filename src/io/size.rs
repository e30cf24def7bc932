//! Byte sizes as users type them: `512`, `64K`, `64KiB`, `64KB`, `1.5G`, `0x1f`.

use std::fmt;
use std::str::FromStr;

/// A byte count parsed from the command line.
///
/// Units as split and dd spell them: `K` and `KiB` are 1024, `KB` is 1000;
/// likewise `M`, `G`, `T`, `P`, `E` (the letter in either case). `b` is
/// 512 bytes, as split's `-b 2b` and dd's `bs=1b` read it; `B` alone is
/// a byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Size(pub u64);

impl Size {
    pub fn bytes(self) -> u64 {
        self.0
    }

    /// The size as a `usize`, for buffer lengths.
    pub fn as_usize(self) -> usize {
        usize::try_from(self.0).unwrap_or(usize::MAX)
    }
}

/// The error for a size the user typed that is not one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidSize(String);

impl fmt::Display for InvalidSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid size \"{}\"", self.0)
    }
}

impl std::error::Error for InvalidSize {}

impl FromStr for Size {
    type Err = InvalidSize;

    fn from_str(text: &str) -> Result<Size, InvalidSize> {
        parse_size(text)
            .map(Size)
            .ok_or_else(|| InvalidSize(text.to_string()))
    }
}

impl fmt::Display for Size {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&human_bytes(self.0))
    }
}

fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return u64::from_str_radix(hex, 16).ok();
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    if number.is_empty() || number.starts_with('.') && number.len() == 1 {
        return None;
    }
    let multiplier = multiplier(unit.trim_start())?;
    if number.contains('.') {
        let value: f64 = number.parse().ok()?;
        let bytes = value * multiplier as f64;
        // A fraction of a byte is not a size the user can mean.
        if !bytes.is_finite() || bytes >= u64::MAX as f64 || bytes.fract() != 0.0 && multiplier == 1
        {
            return None;
        }
        Some(bytes as u64)
    } else {
        number.parse::<u64>().ok()?.checked_mul(multiplier)
    }
}

/// `K` 1024, `KiB` 1024, `KB` 1000 (GNU's xstrtoumax, as split and dd
/// read them), and so on up to `E`.
fn multiplier(unit: &str) -> Option<u64> {
    match unit {
        "" | "B" => return Some(1),
        // split -b 2b and dd count=1b: 512-byte blocks.
        "b" => return Some(512),
        _ => {}
    }
    let mut chars = unit.chars();
    let power = match chars.next()?.to_ascii_uppercase() {
        'K' => 1,
        'M' => 2,
        'G' => 3,
        'T' => 4,
        'P' => 5,
        'E' => 6,
        _ => return None,
    };
    let base: u64 = match chars.as_str() {
        "" | "iB" => 1024,
        "B" => 1000,
        _ => return None,
    };
    base.checked_pow(power)
}

/// `1536` → `1.5 KiB`: for reports a person reads.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn size(s: &str) -> Option<u64> {
        s.parse::<Size>().ok().map(Size::bytes)
    }

    #[test]
    fn plain_and_suffixed() {
        assert_eq!(size("512"), Some(512));
        assert_eq!(size("0"), Some(0));
        assert_eq!(size("64K"), Some(65536));
        assert_eq!(size("64k"), Some(65536));
        assert_eq!(size("64KiB"), Some(65536));
        assert_eq!(size("64KB"), Some(64_000));
        assert_eq!(size("64kB"), Some(64_000));
        assert_eq!(size("2MB"), Some(2_000_000));
        assert_eq!(size("1.5GB"), Some(1_500_000_000));
        assert_eq!(size("1MiB"), Some(1 << 20));
        assert_eq!(size("1m"), Some(1 << 20));
        assert_eq!(size("3E"), Some(3 << 60));
        assert_eq!(size("1EB"), Some(10u64.pow(18)));
        assert_eq!(size("7B"), Some(7));
        assert_eq!(size("2b"), Some(1024), "split's and dd's 512-byte b");
        assert_eq!(size("1M"), Some(1 << 20));
        assert_eq!(size("1.5G"), Some(3 << 29));
        assert_eq!(size("4G"), Some(4 << 30));
        assert_eq!(size("0x1f"), Some(31));
        assert_eq!(size("10 MiB"), Some(10 << 20));
    }

    #[test]
    fn rejects_nonsense() {
        for bad in [
            "",
            "12Q",
            "K",
            "-1",
            "1.5",
            "1..5M",
            "0xZZ",
            "99999999999999999999",
            "1e3",
            "1kb",
            "1KIB",
            "1Kib",
            "1MBB",
            "16E",
        ] {
            assert_eq!(size(bad), None, "{bad:?} should be rejected");
        }
        let err = "12Q".parse::<Size>().unwrap_err();
        assert_eq!(err.to_string(), "invalid size \"12Q\"");
    }

    #[test]
    fn overflow_is_an_error() {
        assert_eq!(size("16777216P"), None);
    }

    #[test]
    fn human() {
        assert_eq!(human_bytes(0), "0 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(3 << 30), "3.0 GiB");
    }
}
