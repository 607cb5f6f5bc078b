//! Derive macros of factum: [`DomainEvent`](macro@DomainEvent),
//! [`CorrelatedSet`](macro@CorrelatedSet) and
//! [`InjectableEvent`](macro@InjectableEvent).
//!
//! Use them through the `factum` crate (feature `macros`, on by default):
//! the generated code names `::factum::...`, so `factum` is the only
//! dependency a user needs (plus `serde`, for the payloads).
//!
//! All three derives read one attribute, `#[es(key = value, ...)]`. Each
//! derive uses its own keys and ignores the others', so one struct can carry
//! the keys of several derives; a key that no derive knows is an error.
//!
//! | key | on | used by |
//! | --- | --- | --- |
//! | `event_type = "Name"` | struct, enum variant | `DomainEvent` |
//! | `schema_version = 2` | struct, enum, enum variant | `DomainEvent` |
//! | `prefix = "Name"` (no `-`) | type | `CorrelatedSet` |
//! | `idempotency = ["field", ...]` | struct | `InjectableEvent` |
//! | `correlation = ["field", ...]` | struct | `InjectableEvent` |
//! | `correlation_set = Type` | struct | `InjectableEvent` |
//! | `status = new \| exists \| any` (or in braces: `status = { exists }`) | struct | `InjectableEvent` |

mod attrs;
mod correlated_set;
mod domain_event;
mod injectable_event;
mod serde_attrs;
mod values;

#[cfg(test)]
mod tests;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `factum::DomainEvent`: the type names an event is stored under,
/// and the version of its shape. The payload itself is plain serde: derive
/// `Serialize` and `Deserialize` next to it.
///
/// - A struct is stored under its own name, or under
///   `#[es(event_type = "Name")]`, as serde writes it.
/// - An enum is stored under each variant's name, or under
///   `#[es(event_type = "Name")]` on a variant; `EVENT_TYPES` lists them all.
///   The payload is the variant's content, without serde's enum wrapper
///   (`PayloadShape::Variant`): a struct variant as its fields
///   (`{"amount":5}`, so SQL reads `$.amount`), a unit variant as `{}`, a
///   newtype variant as its inner value, a tuple variant as an array. The
///   stored event type picks the variant when decoding; payloads earlier
///   versions wrote in serde's form (`{"Paid":{"amount":5}}`) still decode.
///   An enum with `#[serde(tag = "..")]` or `#[serde(untagged)]` is stored as
///   serde writes it.
/// - The schema version is 1, or `#[es(schema_version = N)]` on the struct or
///   enum, or on a variant (which wins over the enum's).
/// - A struct whose `es` attribute has keys of
///   [`InjectableEvent`](macro@InjectableEvent) gets `DomainEvent` from that
///   derive: deriving `DomainEvent` beside it is allowed (and only checks
///   that it is there); deriving `DomainEvent` alone on such a struct is an
///   error.
///
/// Generic parameters are passed through as written: bound them so that
/// the type is `Serialize + DeserializeOwned + Send + Sync + 'static`, as
/// `DomainEvent` requires.
///
/// ```
/// use factum::DomainEvent;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Serialize, Deserialize, DomainEvent)]
/// struct Deposited {
///     amount: u64,
/// }
///
/// #[derive(Serialize, Deserialize, DomainEvent)]
/// #[es(event_type = "MoneyWithdrawn", schema_version = 2)]
/// struct Withdrawn {
///     cents: u64,
/// }
///
/// #[derive(Serialize, Deserialize, DomainEvent)]
/// #[es(schema_version = 3)]
/// enum Account {
///     Opened { owner: String },
///     #[es(event_type = "AccountClosed", schema_version = 1)]
///     Closed,
/// }
///
/// assert_eq!(Deposited::EVENT_TYPES, ["Deposited"]);
/// assert_eq!(Deposited { amount: 5 }.event_type(), "Deposited");
/// assert_eq!(Deposited { amount: 5 }.schema_version(), 1);
///
/// assert_eq!(Withdrawn { cents: 5 }.event_type(), "MoneyWithdrawn");
/// assert_eq!(Withdrawn { cents: 5 }.schema_version(), 2);
///
/// assert_eq!(Account::EVENT_TYPES, ["Opened", "AccountClosed"]);
/// let opened = Account::Opened { owner: "ada".into() };
/// assert_eq!((opened.event_type(), opened.schema_version()), ("Opened", 3));
/// assert_eq!((Account::Closed.event_type(), Account::Closed.schema_version()), ("AccountClosed", 1));
///
/// // An enum is stored as the content of its variant.
/// use factum::{Codec, Json};
/// assert_eq!(Json.encode(&opened)?.payload, br#"{"owner":"ada"}"#);
/// assert_eq!(Json.encode(&Account::Closed)?.payload, b"{}");
/// # Ok::<(), factum::Error>(())
/// ```
#[proc_macro_derive(DomainEvent, attributes(es))]
pub fn derive_domain_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    domain_event::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `factum::CorrelatedSet` on a marker type naming a family of
/// correlated events (a request and its response): its correlation ids start
/// with the type's name, or with `#[es(prefix = "Name")]`.
///
/// The prefix is the category of the groups' streams (`"{prefix}-{key}"`),
/// the part of a stream id before the first `-`: a prefix that is empty or
/// holds `-` (`"sales-order"`, whose groups would be in category `sales`)
/// is a compile error. It must not be an aggregate's `CATEGORY` either,
/// which only the streams can tell: an injection into an aggregate's
/// stream fails with `Error::CategoryShared`.
///
/// ```
/// use factum::CorrelatedSet;
///
/// #[derive(CorrelatedSet)]
/// struct Transfer;
///
/// #[derive(CorrelatedSet)]
/// #[es(prefix = "Payment")]
/// struct Payments;
///
/// assert_eq!(Transfer::PREFIX, "Transfer");
/// assert_eq!(Payments::PREFIX, "Payment");
/// ```
#[proc_macro_derive(CorrelatedSet, attributes(es))]
pub fn derive_correlated_set(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    correlated_set::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `factum::InjectableEvent` on a struct with named fields, so that
/// it can be injected idempotently into its correlation group, and
/// `factum::DomainEvent` from the same attribute (`event_type`,
/// `schema_version`), as [`DomainEvent`](macro@DomainEvent) would: derive
/// `InjectableEvent` alone (with serde's `Serialize` and `Deserialize`), or
/// beside `DomainEvent`, which then leaves the implementation to it. Do not
/// also implement `DomainEvent` by hand: the two would conflict.
///
/// `#[es(idempotency = ["f1", ...], correlation = ["g1", ...],
/// correlation_set = Set, status = new)]` gives
/// - `idempotency_key()`: `"{EventType}-{f1}-{f2}..."`, the event type being
///   `DomainEvent::event_type`, the fields formatted with `Display` in the
///   order listed (a field that is not `Display` is an error pointing at its
///   name in the list; a raw field `r#type` is listed as `"type"`);
/// - `correlation_id()`: `"{PREFIX}-{g1}..."`, the prefix being `Set`'s
///   [`CorrelatedSet`](macro@CorrelatedSet) prefix;
/// - `type Set = Set`;
/// - `STATUS`: what the correlation group must be before injection:
///   `new` (the default: a request opens the group), `exists` (a response
///   joins it) or `any`; es-postgres's form in braces, `status = { exists }`,
///   means the same.
///
/// ```
/// use factum::memory::MemoryStore;
/// use factum::{CorrelatedSet, DomainEvent, InjectEvents, InjectStatus, InjectableEvent};
/// use serde::{Deserialize, Serialize};
///
/// #[derive(CorrelatedSet)]
/// struct Transfer;
///
/// #[derive(Serialize, Deserialize, DomainEvent, InjectableEvent)]
/// #[es(idempotency = ["request_id"], correlation = ["transfer_id"], correlation_set = Transfer)]
/// struct TransferRequested {
///     request_id: u64,
///     transfer_id: u64,
/// }
///
/// // `InjectableEvent` alone implements `DomainEvent` too.
/// #[derive(Serialize, Deserialize, InjectableEvent)]
/// #[es(event_type = "TransferDone")]
/// #[es(idempotency = ["transfer_id"], correlation = ["transfer_id"], correlation_set = Transfer, status = { exists })]
/// struct TransferAnswered {
///     transfer_id: u64,
/// }
///
/// let request = TransferRequested { request_id: 1, transfer_id: 7 };
/// assert_eq!(request.idempotency_key(), "TransferRequested-1");
/// assert_eq!(request.correlation_id(), "Transfer-7");
/// let answer = TransferAnswered { transfer_id: 7 };
/// assert_eq!(answer.idempotency_key(), "TransferDone-7");
/// assert_eq!(TransferAnswered::EVENT_TYPES, ["TransferDone"]);
///
/// # tokio::runtime::Builder::new_current_thread().build()?.block_on(async {
/// let store = MemoryStore::new();
/// let first = store.idempotent_inject_event(&request).await?;
/// assert!(matches!(first, InjectStatus::Injected { .. }));
/// let again = store.idempotent_inject_event(&request).await?;
/// assert_eq!(again, InjectStatus::Duplicate { position: first.position() });
/// store.idempotent_inject_event(answer).await?; // by value or by reference
/// # Ok::<(), factum::Error>(())
/// # })?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[proc_macro_derive(InjectableEvent, attributes(es))]
pub fn derive_injectable_event(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    injectable_event::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
