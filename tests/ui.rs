//! The compile errors of the derives: each mistake gets a message that says
//! what is wrong, pointing at the offending tokens. The expected output is
//! in `tests/ui/*.stderr`.

#[test]
fn derive_errors() {
    trybuild::TestCases::new().compile_fail("tests/ui/*.rs");
}
