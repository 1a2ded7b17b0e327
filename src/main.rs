//! Binary shim: parse the command line, run yml2sh, exit with its code.

#![forbid(unsafe_code)]

fn main() {
    std::process::exit(yml2sh::cli::main());
}

// See Cargo.toml: measured by bench/audit.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
