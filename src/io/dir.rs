//! Output directories: made once here, so every command that writes many
//! files (`csv split`, `csv partition`) reports a failure the same way.

use anyhow::{Context, Result};
use std::path::Path;

/// Make `dir` and its missing parents (nothing when it is a directory
/// already); an error names `dir` as the user gave it.
pub fn create_dir_all(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    std::fs::create_dir_all(dir).with_context(|| dir.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn makes_parents_and_names_the_path_on_failure() {
        let tmp = std::env::temp_dir().join(format!("fkit-dir-{}", std::process::id()));
        let nested = tmp.join("a/b");
        create_dir_all(&nested).unwrap();
        assert!(nested.is_dir());
        create_dir_all(&nested).unwrap();
        let file = tmp.join("f");
        std::fs::write(&file, b"").unwrap();
        let err = create_dir_all(&file.join("sub")).unwrap_err();
        assert!(format!("{err:#}").starts_with(&file.join("sub").display().to_string()));
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}
