//! Compile errors. `ui/`: the derives' errors, each mistake with a message
//! that says what is wrong, pointing at the offending tokens. `ui_build/`:
//! names that cannot be stream categories (an aggregate's `CATEGORY`, a
//! hand-written correlation set's `PREFIX`), which rustc finds only when
//! it builds the code using them, so those are built, not just checked
//! (a file there that must build keeps them built). The expected output is
//! in the `.stderr` files beside each.

#[test]
fn derive_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}

#[test]
fn category_errors_when_built() {
    let cases = trybuild::TestCases::new();
    // Passing tests make trybuild build rather than check every file.
    cases.pass("tests/ui_build/names_that_are_categories.rs");
    cases.compile_fail("tests/ui_build/*_with_dash.rs");
    cases.compile_fail("tests/ui_build/*_empty_*.rs");
}
