//! Links the `yml2sh` binary statically, as a static PIE, on Linux with glibc.
//!
//! A single `yml2sh -f bash` on a small config is mostly process start-up, and most of that is
//! the dynamic loader's: finding, mapping and binding libc and libgcc_s. Linked statically, the
//! same run takes about a quarter less time (bench/compile, alternated side by side: 2,160 ->
//! 1,700 us). A static PIE keeps every address randomised, the binary's own included; glibc
//! relocates it at start-up, as the dynamic loader did.
//!
//! rustc links statically with `-C target-feature=+crt-static`, but that flag cannot be given to
//! the binary alone on stable cargo: set for the whole build, it also applies to the proc-macro
//! crates (serde's and clap's derives), which then cannot be built. So this script passes the
//! binary's link what that flag would: `-static-pie`, and a folder searched before the system's,
//! holding the static archives of the libraries rustc names (libgcc_s's static half is
//! libgcc_eh). Where the C toolchain lacks any of them (glibc's static libraries are a separate
//! package on some distributions: `glibc-static` on Fedora), or the build is a cross build or
//! uses a linker of its own, the binary is linked the platform's default way, with a warning
//! that says why. The tests and every other target always keep the defaults.
//!
//! Tells the crates how the binary was linked in `YML2SH_LINKED` ("static" or "dynamic"), which
//! the test of the binary's ELF headers reads.
use std::path::{Path, PathBuf};
use std::process::Command;

/// The libraries a Rust binary on linux-gnu is linked against, as `-l` names, and the static
/// archive that stands for each.
const ARCHIVES: [(&str, &str); 7] = [
    ("c", "libc.a"),
    ("m", "libm.a"),
    ("rt", "librt.a"),
    ("pthread", "libpthread.a"),
    ("dl", "libdl.a"),
    ("util", "libutil.a"),
    ("gcc_s", "libgcc_eh.a"),
];

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=RUSTC_LINKER");
    let var = |name: &str| std::env::var(name).unwrap_or_default();
    if var("CARGO_CFG_TARGET_OS") != "linux" || var("CARGO_CFG_TARGET_ENV") != "gnu" {
        println!("cargo:rustc-env=YML2SH_LINKED=dynamic");
        return;
    }
    let linked = if var("TARGET") != var("HOST") {
        Err("a cross build".to_string())
    } else if !var("RUSTC_LINKER").is_empty() {
        Err(format!("a linker of its own ({})", var("RUSTC_LINKER")))
    } else {
        static_archives(&PathBuf::from(var("OUT_DIR")).join("static"))
    };
    match linked {
        Ok(folder) => {
            println!("cargo:rustc-link-arg-bins=-L{}", folder.display());
            println!("cargo:rustc-link-arg-bins=-static-pie");
            // What libgcc_eh leaves to libgcc, as rustc's own static link names it.
            println!("cargo:rustc-link-arg-bins=-lgcc");
            println!("cargo:rustc-env=YML2SH_LINKED=static");
        }
        Err(why) => {
            println!(
                "cargo:warning=yml2sh is linked dynamically ({why}): a single run starts about \
                 a quarter slower than when linked statically"
            );
            println!("cargo:rustc-env=YML2SH_LINKED=dynamic");
        }
    }
}

/// Fills `folder` with links named as the linker looks the libraries up, to the C toolchain's
/// static archives, and returns it; says which is missing otherwise.
fn static_archives(folder: &Path) -> Result<PathBuf, String> {
    let _ = std::fs::remove_dir_all(folder);
    std::fs::create_dir_all(folder).map_err(|e| format!("{}: {e}", folder.display()))?;
    // rcrt1.o starts a static PIE; without it the driver cannot link one.
    let start = toolchain_file("rcrt1.o")?;
    println!("cargo:rerun-if-changed={}", start.display());
    for (name, archive) in ARCHIVES {
        let path = toolchain_file(archive)?;
        println!("cargo:rerun-if-changed={}", path.display());
        let link = folder.join(format!("lib{name}.a"));
        std::os::unix::fs::symlink(&path, &link).map_err(|e| format!("{}: {e}", link.display()))?;
    }
    Ok(folder.to_path_buf())
}

/// Where the C compiler driver (`cc`, which rustc links with) finds `name`, if it has it: the
/// driver prints the bare name back when it does not.
fn toolchain_file(name: &str) -> Result<PathBuf, String> {
    let out = Command::new("cc")
        .arg(format!("-print-file-name={name}"))
        .output()
        .map_err(|e| format!("cc cannot run: {e}"))?;
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    if out.status.success() && path.is_absolute() && path.exists() {
        Ok(path)
    } else {
        Err(format!("the C toolchain has no {name}"))
    }
}
