//! The one integration-test binary: each file under tests/ is a module of it, so cargo links
//! and starts one executable instead of one per file (as casey/just lays its tests out).
//! A new test file is added here as `mod name;` and reaches the helpers as `crate::common`.

mod common;

mod audit;
mod bash;
mod check;
mod cli;
mod corpus;
mod diagnostics;
mod docker;
mod emit;
mod exec;
mod github;
mod hostile;
mod infer;
mod ir_digests;
mod make;
mod output;
mod seed;
mod stand_ins;
