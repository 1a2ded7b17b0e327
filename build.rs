//! Links the `yml2sh` binary as a position-dependent executable on Linux with glibc.
//!
//! A position-independent one (the platform's default) is relocated by the dynamic loader at
//! every start: about 3,300 pointers in its read-only data, each page of them copied on write.
//! A single `yml2sh -f bash` on a small config is mostly process start-up, and on the machines
//! measured that relocation was a tenth of it: linked at a fixed address, the same run takes
//! 200-250 us less out of about 2 ms (bench/compile, alternated side by side).
//!
//! What this gives up is the randomised address of the binary's own code and data (shared
//! libraries, the stack and the heap stay randomised), as Go links its programs on Linux by
//! default. The library forbids `unsafe`; the binary's only unsafe code is its allocator
//! (src/alloc.rs) and two exported math symbols (src/math.rs). The tests and every other
//! target keep the defaults.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let os = std::env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    let env = std::env::var("CARGO_CFG_TARGET_ENV").unwrap_or_default();
    if os == "linux" && env == "gnu" {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
