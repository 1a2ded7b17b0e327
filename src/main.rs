//! Binary shim: parse the command line, run yml2sh, exit with its code.

// Unsafe only in `alloc`, the allocator's glue; the library forbids it.
#![deny(unsafe_code)]

#[allow(unsafe_code)]
mod alloc;

fn main() {
    std::process::exit(yml2sh::cli::main());
}

#[global_allocator]
static GLOBAL: alloc::Chosen = alloc::Chosen;
