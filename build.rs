//! Link the `fkit` binary as a position-dependent executable on Linux with
//! glibc. A position-independent one makes the dynamic loader apply about
//! 10,000 relocations, and copy the pages they touch, on every start: half of
//! the instructions of a short run like `fkit lock F true`, and what kept
//! that above flock(1)'s time. The cost is that the binary's own code is not
//! placed at a random address (its libraries, stack and heap still are).
//! Only the binaries get the flag; proc-macro and test libraries are untouched.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
