//! Hostile files take bounded memory: every byte allocated while a repository refuses (or
//! reads) a huge scalar, deep nesting, an alias bomb, a million-element list or twenty thousand
//! documents is counted, and stays within a small multiple of the input plus a fixed cost per
//! document (the parser's buffers, freed after each). Peak memory is at most what was
//! allocated. One test in this binary, so that no other test's allocations are counted.

use std::path::PathBuf;

use fleet_core::repository::Repository;
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;

fn alias_bomb() -> String {
    let mut text = String::from(
        "kind: Layer\nspec:\n  name: bomb\n  owner: ops\n  set:\n    labels:\n      a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n",
    );
    for level in 1..9 {
        let previous = format!("*a{}", level - 1);
        text.push_str(&format!("      a{level}: &a{level} [{}]\n", vec![previous; 10].join(", ")));
    }
    text
}

#[test]
fn hostile_files_take_memory_in_proportion_to_their_size() {
    let inputs = [
        (
            "a 5 MB scalar",
            format!("kind: TeamPolicy\nspec:\n  team: {}\n  quota: {{clusters: 1, nodes: 1}}\n", "a".repeat(5_000_000)),
        ),
        (
            "nesting 100,000 deep",
            format!(
                "kind: Layer\nspec:\n  name: l\n  owner: ops\n  set: {}{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            ),
        ),
        ("a billion-node alias bomb", alias_bomb()),
        (
            "a million-element list",
            format!(
                "kind: Layer\nspec:\n  name: l\n  owner: ops\n  set: {{labels: {{a: [{}0]}}}}\n",
                "0,".repeat(1_000_000)
            ),
        ),
        (
            "twenty thousand documents",
            "kind: TeamPolicy\nspec: {team: t, quota: {clusters: 1, nodes: 1}}\n---\n".repeat(20_000),
        ),
    ];
    for (name, text) in inputs {
        let documents = text.matches("\n---\n").count() + 1;
        let region = Region::new(GLOBAL);
        let result = Repository::from_sources(&[(PathBuf::from("hostile.yaml"), text.as_str())]);
        let allocated = region.change().bytes_allocated;
        let errors = result.err().map(|e| e.to_string()).unwrap_or_default();
        let bound = 40 * text.len() + 64 * 1024 * documents + (64 << 20);
        println!("{name}: {} input bytes, {allocated} bytes allocated, {} bytes of errors", text.len(), errors.len());
        assert!(allocated <= bound, "{name}: {allocated} bytes allocated for {} input bytes", text.len());
        assert!(errors.len() <= text.len(), "{name}: errors no longer than the input ({} bytes)", errors.len());
    }
}
