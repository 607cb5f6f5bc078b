//! The `es` attribute that every derive of this crate shares.
//!
//! Every derive parses the whole attribute — all keys, on the type, its
//! variants and its fields — with this same code, so a mistake is reported
//! identically by each derive on the type (and rustc shows it once). Each
//! derive then reads only its own keys and ignores the others'.

use syn::ext::IdentExt;
use syn::parse::ParseStream;
use syn::{Attribute, Data, DeriveInput, Error, Fields, Ident, LitStr, Result, Token, Type};

use crate::values::{self, FieldList, SchemaVersion, Status};

/// The name of the attribute.
const ATTR: &str = "es";

/// Every key of the attribute, in the order error messages list them.
const KEYS: &[&str] = &[
    "event_type",
    "schema_version",
    "prefix",
    "idempotency",
    "correlation",
    "correlation_set",
    "status",
];

/// The keys allowed on an enum variant.
const VARIANT_KEYS: &[&str] = &["event_type", "schema_version"];

/// Where an `es` attribute stands.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Place {
    /// On a struct or union.
    Struct,
    /// On an enum.
    Enum,
    /// On a variant of an enum.
    Variant,
}

/// The keys given at one place, each parsed and checked on its own.
#[derive(Default)]
pub(crate) struct Args {
    /// `event_type = "Name"` (struct or variant).
    pub(crate) event_type: Option<LitStr>,
    /// `schema_version = N` (type or variant).
    pub(crate) schema_version: Option<SchemaVersion>,
    /// `prefix = "Name"` (type).
    pub(crate) prefix: Option<LitStr>,
    /// `idempotency = [..]` (type).
    pub(crate) idempotency: Option<FieldList>,
    /// `correlation = [..]` (type).
    pub(crate) correlation: Option<FieldList>,
    /// `correlation_set = Type` (type).
    pub(crate) correlation_set: Option<Type>,
    /// `status = new | exists | any` (type).
    pub(crate) status: Option<Status>,
}

impl Args {
    /// Whether any key of `InjectableEvent` is given: such a struct gets
    /// its `DomainEvent` implementation from that derive.
    pub(crate) fn has_injection_keys(&self) -> bool {
        self.idempotency.is_some()
            || self.correlation.is_some()
            || self.correlation_set.is_some()
            || self.status.is_some()
    }
}

/// The `es` attributes of a whole item.
pub(crate) struct ItemAttrs {
    /// On the struct, enum or union itself.
    pub(crate) item: Args,
    /// On each variant of an enum, in declaration order; empty otherwise.
    pub(crate) variants: Vec<Args>,
}

/// Collects errors so that one pass reports every mistake it finds.
#[derive(Default)]
pub(crate) struct Errors(Option<Error>);

impl Errors {
    /// Records an error.
    pub(crate) fn push(&mut self, error: Error) {
        match &mut self.0 {
            Some(first) => first.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Fails with every recorded error, if any.
    pub(crate) fn finish(self) -> Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

/// Parses and checks every `es` attribute of `input`: on the item, on its
/// variants, and (where none is allowed) on its fields.
pub(crate) fn parse_item(input: &DeriveInput) -> Result<ItemAttrs> {
    let mut errors = Errors::default();
    let place = match input.data {
        Data::Enum(_) => Place::Enum,
        Data::Struct(_) | Data::Union(_) => Place::Struct,
    };
    let item = parse_attrs(&input.attrs, place, &mut errors);
    let mut variants = Vec::new();
    match &input.data {
        Data::Struct(data) => reject_on_fields(&data.fields, &mut errors),
        Data::Enum(data) => {
            for variant in &data.variants {
                variants.push(parse_attrs(&variant.attrs, Place::Variant, &mut errors));
                reject_on_fields(&variant.fields, &mut errors);
            }
        }
        Data::Union(data) => {
            reject_on_fields(&Fields::Named(data.fields.clone()), &mut errors);
        }
    }
    errors.finish()?;
    Ok(ItemAttrs { item, variants })
}

/// No derive reads `es` on a field: say so rather than ignore it.
fn reject_on_fields(fields: &Fields, errors: &mut Errors) {
    for attr in fields.iter().flat_map(|field| &field.attrs) {
        if attr.path().is_ident(ATTR) {
            errors.push(Error::new_spanned(
                attr,
                "`#[es(..)]` belongs on the type or on an enum variant, not on a field",
            ));
        }
    }
}

/// Parses the `es` attributes among `attrs`, recording errors.
fn parse_attrs(attrs: &[Attribute], place: Place, errors: &mut Errors) -> Args {
    let mut args = Args::default();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident(ATTR)) {
        if let Err(error) = parse_attr(attr, place, &mut args) {
            errors.push(error);
        }
    }
    args
}

/// Parses one `#[es(key = value, ...)]` into `args`.
fn parse_attr(attr: &Attribute, place: Place, args: &mut Args) -> Result<()> {
    let list = match &attr.meta {
        syn::Meta::List(list) if matches!(list.delimiter, syn::MacroDelimiter::Paren(_)) => list,
        _ => {
            return Err(Error::new_spanned(
                attr,
                "expected `#[es(key = value, ...)]`, e.g. `#[es(event_type = \"Deposited\")]`",
            ));
        }
    };
    list.parse_args_with(|input: ParseStream<'_>| parse_args(input, place, args))
}

/// Parses `key = value, ...` up to the end of the attribute.
fn parse_args(input: ParseStream<'_>, place: Place, args: &mut Args) -> Result<()> {
    while !input.is_empty() {
        let key = input
            .call(Ident::parse_any)
            .map_err(|_| input.error("expected a key, e.g. `event_type = \"Deposited\"`"))?;
        let name = key.unraw().to_string();
        check_key(&key, &name, place)?;
        if !input.peek(Token![=]) {
            return Err(Error::new_spanned(
                &key,
                format!("expected `=` after `{name}`, e.g. `{}`", example(&name)),
            ));
        }
        input.parse::<Token![=]>()?;
        parse_value(input, &key, &name, args)?;
        if input.is_empty() {
            break;
        }
        if !input.peek(Token![,]) {
            return Err(input.error("expected `,` between `es` keys"));
        }
        input.parse::<Token![,]>()?;
    }
    Ok(())
}

/// Parses the value of the known key `name` and stores it, refusing a key
/// given twice.
fn parse_value(input: ParseStream<'_>, key: &Ident, name: &str, args: &mut Args) -> Result<()> {
    match name {
        "event_type" => set(&mut args.event_type, key, values::event_type(input, key)?),
        "schema_version" => set(
            &mut args.schema_version,
            key,
            values::schema_version(input, key)?,
        ),
        "prefix" => set(&mut args.prefix, key, values::prefix(input, key)?),
        "idempotency" => set(&mut args.idempotency, key, values::field_list(input, key)?),
        "correlation" => set(&mut args.correlation, key, values::field_list(input, key)?),
        "correlation_set" => set(
            &mut args.correlation_set,
            key,
            values::correlation_set(input, key)?,
        ),
        "status" => set(&mut args.status, key, values::status(input, key)?),
        _ => Err(unknown_key(key, name)),
    }
}

/// Stores `value` unless the key was already given.
fn set<T>(slot: &mut Option<T>, key: &Ident, value: T) -> Result<()> {
    if slot.is_some() {
        return Err(Error::new_spanned(
            key,
            format!("`{}` is given twice", key.unraw()),
        ));
    }
    *slot = Some(value);
    Ok(())
}

/// Refuses keys no derive knows, and keys in the wrong place.
fn check_key(key: &Ident, name: &str, place: Place) -> Result<()> {
    if !KEYS.contains(&name) {
        return Err(unknown_key(key, name));
    }
    match place {
        Place::Variant if !VARIANT_KEYS.contains(&name) => Err(Error::new_spanned(
            key,
            format!(
                "`{name}` is not allowed on a variant; only `event_type` and `schema_version` are: \
                 put `{name}` on the type"
            ),
        )),
        Place::Enum if name == "event_type" => Err(Error::new_spanned(
            key,
            "`event_type` names one event: on an enum, put it on a variant \
             (each variant is stored under its own type name)",
        )),
        _ => Ok(()),
    }
}

/// The error for a key no derive knows, with a suggestion when one is close.
fn unknown_key(key: &Ident, name: &str) -> Error {
    let known = KEYS.join(", ");
    let message = match KEYS
        .iter()
        .map(|candidate| (distance(name, candidate), candidate))
        .filter(|(d, _)| *d <= 2)
        .min()
    {
        Some((_, candidate)) => {
            format!("unknown `es` key `{name}`; did you mean `{candidate}`? The keys are: {known}")
        }
        None => format!("unknown `es` key `{name}`; the keys are: {known}"),
    };
    Error::new_spanned(key, message)
}

/// An example of `key = value` for the error messages.
fn example(name: &str) -> &'static str {
    match name {
        "event_type" => "event_type = \"Deposited\"",
        "schema_version" => "schema_version = 2",
        "prefix" => "prefix = \"Transfer\"",
        "idempotency" => "idempotency = [\"request_id\"]",
        "correlation" => "correlation = [\"transfer_id\"]",
        "correlation_set" => "correlation_set = Transfer",
        _ => "status = new",
    }
}

/// The Levenshtein distance between two short strings.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != *cb);
            let deletion = previous[j + 1] + 1;
            let insertion = current[j] + 1;
            current.push(substitution.min(deletion).min(insertion));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::distance;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("prefix", "prefix"), 0);
        assert_eq!(distance("prefx", "prefix"), 1);
        assert_eq!(distance("event_typ", "event_type"), 1);
        assert_eq!(distance("stauts", "status"), 2);
        assert_eq!(distance("", "abc"), 3);
    }
}
