//! The premise of the shared `es` attribute: every derive accepts the keys
//! of the others, and reports a mistake in the attribute with the very same
//! errors (so that rustc, which drops identical diagnostics, shows it once).

use proc_macro2::TokenStream;
use syn::{DeriveInput, parse_quote};

use crate::{correlated_set, domain_event, injectable_event};

/// The expansion of every derive.
type Expand = fn(&DeriveInput) -> syn::Result<TokenStream>;

/// All three derives, by name.
const DERIVES: [(&str, Expand); 3] = [
    ("DomainEvent", domain_event::expand),
    ("CorrelatedSet", correlated_set::expand),
    ("InjectableEvent", injectable_event::expand),
];

/// The messages of a failed expansion, or `None` when it succeeded.
fn messages(expand: Expand, input: &DeriveInput) -> Option<Vec<String>> {
    expand(input)
        .err()
        .map(|error| error.into_iter().map(|e| e.to_string()).collect())
}

#[test]
fn every_derive_accepts_the_keys_of_the_others() {
    let input: DeriveInput = parse_quote! {
        #[es(event_type = "Requested", schema_version = 2, prefix = "Transfer")]
        #[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer, status = any)]
        struct Requested { id: u64 }
    };
    let braced: DeriveInput = parse_quote! {
        #[es(idempotency = ["id"], correlation = ["id"], correlation_set = Transfer)]
        #[es(status = { exists })]
        struct Answered { id: u64 }
    };
    for (name, expand) in DERIVES {
        assert_eq!(messages(expand, &input), None, "{name}");
        assert_eq!(messages(expand, &braced), None, "{name}, status in braces");
    }
}

#[test]
fn every_derive_reports_an_attribute_mistake_identically() {
    let cases: Vec<DeriveInput> = vec![
        parse_quote! { #[es(evnt_type = "A")] struct A { id: u64 } },
        parse_quote! { #[es(table = "a")] struct A { id: u64 } },
        parse_quote! { #[es(event_type = 5)] struct A { id: u64 } },
        parse_quote! { #[es(schema_version = 0)] struct A { id: u64 } },
        parse_quote! { #[es(prefix = "")] struct A { id: u64 } },
        parse_quote! { #[es(idempotency = [])] struct A { id: u64 } },
        parse_quote! { #[es(idempotency = ["id", "id"])] struct A { id: u64 } },
        parse_quote! { #[es(status = maybe)] struct A { id: u64 } },
        parse_quote! { #[es(status = { maybe })] struct A { id: u64 } },
        parse_quote! { #[es(status = {})] struct A { id: u64 } },
        parse_quote! { #[es(correlation_set = "T")] struct A { id: u64 } },
        parse_quote! { #[es(prefix = "A", prefix = "B")] struct A { id: u64 } },
        parse_quote! { #[es] struct A { id: u64 } },
        parse_quote! { struct A { #[es(prefix = "A")] id: u64 } },
        parse_quote! { #[es(event_type = "E")] enum E { A } },
        parse_quote! { enum E { #[es(status = new)] A } },
        // Two mistakes in two attributes: both reported, in order.
        parse_quote! { #[es(table = "a")] #[es(status = "new")] struct A { id: u64 } },
    ];
    for input in &cases {
        let [first, rest @ ..] = DERIVES.map(|(name, expand)| (name, messages(expand, input)));
        let expected = first.1.as_ref().expect("the attribute is wrong");
        assert!(!expected.is_empty());
        for (name, got) in rest {
            assert_eq!(
                got.as_ref(),
                Some(expected),
                "{name} differs from DomainEvent"
            );
        }
    }
}

#[test]
fn two_mistakes_are_both_reported() {
    let input: DeriveInput =
        parse_quote! { #[es(table = "a")] #[es(status = "new")] struct A { id: u64 } };
    let found = messages(domain_event::expand, &input).expect("errors");
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("unknown `es` key `table`"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("expected `new`, `exists` or `any`"),
        "{found:?}"
    );
}
