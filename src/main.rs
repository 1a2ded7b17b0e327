//! Binary shim: parse the command line, run yml2sh, exit with its code.

// Unsafe only in `alloc`, the allocator's glue, and in `math`'s two exported C symbols; the
// library forbids it.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod alloc;
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[allow(unsafe_code)]
mod math;

fn main() {
    std::process::exit(yml2sh::cli::main());
}

#[global_allocator]
static GLOBAL: alloc::Chosen = alloc::Chosen;
