//! The stable-toolchain driver of the fuzz bodies: every committed seed of a target, then a
//! bounded number of proptest cases, each a seed with random mutations (byte flips, inserted
//! bytes and hostile tokens, deleted and duplicated ranges, splices of another seed). A panic
//! fails the test with the smallest input proptest can shrink it to, printed as a Rust byte
//! string to paste into a regression test (docs/robustness.md).

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Tokens that break parsers more often than random bytes do.
const TOKENS: &[&[u8]] = &[
    b"{",
    b"}",
    b"[",
    b"]",
    b"\"",
    b"\\",
    b":",
    b",",
    b"\n",
    b"\r\n",
    b"\0",
    b"{{",
    b"}}",
    b"{name}",
    b"{skill_dir}",
    b"{params_json}",
    b"---\n",
    b"\n%%\n",
    b"data: ",
    b"\n\n",
    b"\x1b[31m",
    b"\x1b]0;t\x07",
    b"\xe2\x80\xae",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"1e999",
    b"-0",
    b"18446744073709551616",
    b"null",
    b"true",
    b"[DONE]",
    b"\"2.0\"",
    b"&a",
    b"*a",
    b"!!binary",
    b"[[",
    b"]]",
    b"=",
    b"'''",
    b"\"\"\"",
    b"file://",
    b"../",
    b"${",
    b"$(",
    b"|",
    b">",
];

/// A change to a seed.
#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, Vec<u8>),
    Token(usize, usize),
    Delete(usize, usize),
    Duplicate(usize, usize, u8),
    Splice(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, bit)| Mutation::Flip(at, bit)),
        (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Insert(at, bytes)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, t)| Mutation::Token(at, t)),
        (any::<usize>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<usize>(), 1..64usize, 1..16u8)
            .prop_map(|(at, len, n)| Mutation::Duplicate(at, len, n)),
        (any::<usize>(), any::<usize>(), any::<usize>())
            .prop_map(|(at, seed, from)| Mutation::Splice(at, seed, from)),
    ]
}

fn apply(seeds: &[Vec<u8>], mut data: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let at = |i: usize, len: usize| if len == 0 { 0 } else { i % (len + 1) };
        match m {
            Mutation::Flip(i, bit) if !data.is_empty() => {
                let i = i % data.len();
                data[i] ^= bit;
            }
            Mutation::Flip(..) => {}
            Mutation::Insert(i, bytes) => {
                let i = at(*i, data.len());
                data.splice(i..i, bytes.iter().copied());
            }
            Mutation::Token(i, t) => {
                let i = at(*i, data.len());
                data.splice(i..i, TOKENS[*t].iter().copied());
            }
            Mutation::Delete(i, len) => {
                let i = at(*i, data.len());
                let end = (i + len).min(data.len());
                data.drain(i..end);
            }
            Mutation::Duplicate(i, len, n) => {
                let i = at(*i, data.len());
                let end = (i + len).min(data.len());
                let piece = data[i..end].repeat(usize::from(*n));
                data.splice(end..end, piece);
            }
            Mutation::Splice(i, seed, from) => {
                let other = &seeds[seed % seeds.len()];
                let from = at(*from, other.len());
                let piece = &other[from..(from + 64).min(other.len())];
                let i = at(*i, data.len());
                data.splice(i..i, piece.iter().copied());
            }
        }
    }
    data
}

/// The committed seeds of `target`, `fuzz/corpus/<target>/*`, sorted by name.
pub fn corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("the seeds of {target}: {}: {e}", dir.display()))
        .map(|entry| entry.expect("a corpus entry").path())
        .collect();
    paths.sort();
    let seeds: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).unwrap_or_else(|e| panic!("{}: {e}", p.display())))
        .collect();
    assert!(!seeds.is_empty(), "{} holds no seeds", dir.display());
    seeds
}

/// How many mutated cases to run: `SKILLET_FUZZ_CASES` when set, else `default`.
fn cases(default: u32) -> u32 {
    std::env::var("SKILLET_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The mutations' random seed when `PROPTEST_RNG_SEED` does not name one: fixed, so a test run
/// (and CI) tries the same cases every time and passes or fails for what changed in the code.
/// New cases are for deliberate exploration: `PROPTEST_RNG_SEED=<number>` with many
/// `SKILLET_FUZZ_CASES`, or the cargo-fuzz targets.
const FIXED_RNG_SEED: u64 = 0x5111_e7f0_2200_0018;

/// Runs `body` on every seed of `target`, then on `default_cases` mutated seeds. Fails on the
/// first panic, naming the input.
pub fn check(target: &str, default_cases: u32, body: fn(&[u8])) {
    let seeds = corpus(target);
    for seed in &seeds {
        body(seed);
    }
    let rng_seed = std::env::var("PROPTEST_RNG_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(FIXED_RNG_SEED);
    let config = Config {
        cases: cases(default_cases),
        rng_seed: proptest::test_runner::RngSeed::Fixed(rng_seed),
        failure_persistence: None,
        // A shrink runs the body again per step; bounded so a failure is reported in seconds.
        max_shrink_iters: 2048,
        ..Config::default()
    };
    let strategy = (0..seeds.len(), proptest::collection::vec(mutation(), 0..12));
    let mut runner = TestRunner::new(config);
    // Shrinking panics the body hundreds of times: keep those quiet, then show the last one.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    // The last failing input seen is the smallest: shrinking keeps only simpler failures.
    let smallest = std::cell::RefCell::new(None);
    let result = runner.run(&strategy, |(seed, mutations)| {
        let data = apply(&seeds, seeds[seed].clone(), &mutations);
        match std::panic::catch_unwind(|| body(&data)) {
            Ok(()) => Ok(()),
            Err(_) => {
                let shown = format!("b\"{}\"", data.escape_ascii());
                *smallest.borrow_mut() = Some(data);
                Err(TestCaseError::fail(format!("{target} panicked on {shown}")))
            }
        }
    });
    std::panic::set_hook(hook);
    if let Err(e) = result {
        eprintln!(
            "{e}\n(PROPTEST_RNG_SEED={rng_seed}; docs/robustness.md: a crash becomes a regression test)"
        );
        if let Some(data) = smallest.into_inner() {
            // Again, with the panic's own message and place.
            body(&data);
        }
        panic!("{e}");
    }
}
