//! The two C math functions yml2sh's dependencies call, `pow` (minijinja's `**`) and `log10`
//! (annotate-snippets' line-number width), defined in the binary so that it does not load
//! glibc's libm at start-up for them.
//!
//! Loading a shared library costs a process its mapping, relocation and symbol lookups: about
//! 85 us of a 2.3 ms `yml2sh -f bash` (bench/compile, alternated side by side), for two functions
//! no typical run calls. The definitions are the `libm` crate's (the Rust project's port of
//! musl's), which the linker binds the calls to in place of glibc's, so libm is not among the
//! libraries the binary needs (a test checks it).

/// `pow(3)`.
#[unsafe(no_mangle)]
pub extern "C" fn pow(x: f64, y: f64) -> f64 {
    libm::pow(x, y)
}

/// `log10(3)`.
#[unsafe(no_mangle)]
pub extern "C" fn log10(x: f64) -> f64 {
    libm::log10(x)
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_definitions_agree_with_the_standard_library() {
        for (x, y) in [
            (2.0, 10.0),
            (10.0, -2.0),
            (1.5, 0.5),
            (0.0, 0.0),
            (-2.0, 3.0),
        ] {
            assert_eq!(super::pow(x, y), f64::powf(x, y), "pow({x}, {y})");
        }
        for x in [1.0, 9.0, 10.0, 99.0, 100.0, 12345.0, 1e15] {
            assert_eq!(super::log10(x), x.log10(), "log10({x})");
            assert_eq!(super::log10(x).floor(), x.log10().floor());
        }
    }
}
