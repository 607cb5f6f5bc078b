//! For test binaries with their own `main` (`harness = false` in
//! `Cargo.toml`), such as tests that run themselves again as child
//! processes: runs the binary's one test the way libtest would, honouring
//! `--list` and name filters and printing the usual lines.

/// Runs `test`, named `name`, unless the command line lists the tests or
/// filters it out. Call it from `main` once the child-process case is
/// handled; `test` panics to fail.
pub fn single_test(name: &str, test: impl FnOnce()) {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--list") {
        println!("{name}: test");
        return;
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
        println!(
            "\nrunning 0 tests\n\ntest result: ok. 0 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out\n"
        );
        return;
    }
    println!("\nrunning 1 test");
    test();
    println!("test {name} ... ok");
    println!("\ntest result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out\n");
}

/// The runtime such a test (and its child processes) runs on: multi-thread,
/// two workers, every driver on.
pub fn runtime() -> tokio::runtime::Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => panic!("cannot build a tokio runtime: {e}"),
    }
}
