//! Parsers of the values of `es` keys: each takes the tokens after `key =`
//! up to the next top-level comma, and when they are not what the key needs
//! it reports an error spanning exactly those tokens.

use proc_macro2::{TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream};
use syn::{Error, Ident, LitInt, LitStr, Result, Token, Type};

/// Longest event type accepted, in bytes; the store's limit
/// (`factum::MAX_EVENT_TYPE_BYTES`).
const MAX_EVENT_TYPE_BYTES: usize = 255;

/// Longest correlation prefix accepted, in bytes: a group's stream id (at
/// most 255 bytes) also holds the `-` and a key. The prefix is a stream
/// category, which factum-core checks by the same rules where a set is
/// used (`category.rs`); checking it here too points at the literal.
const MAX_PREFIX_BYTES: usize = 253;

/// A checked `schema_version` value.
#[derive(Clone)]
pub(crate) struct SchemaVersion {
    /// The version, at least 1.
    pub(crate) value: u32,
}

/// A bracketed list of field names: `["request_id", "transfer_id"]`.
#[derive(Clone)]
pub(crate) struct FieldList {
    /// The names, each the literal it was written as (errors point at it).
    pub(crate) names: Vec<LitStr>,
}

/// The expected state of a correlation group, as written in `status = ..`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Status {
    /// `new`: the group must not exist yet.
    New,
    /// `exists`: the group must exist.
    Exists,
    /// `any`: no check.
    Any,
}

/// Parses a value with `parse`, which must take the whole value; otherwise
/// reports `expected` over the whole value (or over `key` when the value is
/// missing).
fn whole_value<T>(
    input: ParseStream<'_>,
    key: &Ident,
    parse: fn(ParseStream<'_>) -> Result<T>,
    expected: &str,
) -> Result<T> {
    let fork = input.fork();
    if let Ok(value) = parse(&fork) {
        input.advance_to(&fork);
        if input.is_empty() || input.peek(Token![,]) {
            return Ok(value);
        }
        // A good value followed by more: most likely a missing comma.
        return Err(input.error(format!(
            "expected `,` after the value of `{key}`, before the next key"
        )));
    }
    Err(value_error(input, key, expected))
}

/// Consumes the rest of the current value and makes an error spanning it.
fn value_error(input: ParseStream<'_>, key: &Ident, expected: &str) -> Error {
    match rest_of_value(input) {
        Ok(tokens) if tokens.is_empty() => {
            Error::new_spanned(key, format!("`{key} =` needs a value: {expected}"))
        }
        Ok(tokens) => Error::new_spanned(tokens, expected),
        Err(error) => error,
    }
}

/// Consumes tokens up to the next top-level comma (or the end).
fn rest_of_value(input: ParseStream<'_>) -> Result<TokenStream> {
    let mut tokens = TokenStream::new();
    while !input.is_empty() && !input.peek(Token![,]) {
        tokens.extend([input.parse::<TokenTree>()?]);
    }
    Ok(tokens)
}

/// Checks a name that ends up in the store (an event type, a prefix):
/// non-empty, at most `max` bytes long, no control characters.
fn check_name(lit: &LitStr, what: &str, max: usize) -> Result<()> {
    let value = lit.value();
    let problem = if value.is_empty() {
        format!("{what} is empty")
    } else if value.len() > max {
        format!(
            "{what} is {} bytes long; at most {max} are allowed",
            value.len()
        )
    } else if value.chars().any(char::is_control) {
        format!("{what} holds a control character")
    } else {
        return Ok(());
    };
    Err(Error::new_spanned(lit, problem))
}

/// `event_type = "Deposited"`.
pub(crate) fn event_type(input: ParseStream<'_>, key: &Ident) -> Result<LitStr> {
    let lit = whole_value(
        input,
        key,
        <LitStr as Parse>::parse,
        "expected a string literal, e.g. `event_type = \"Deposited\"`",
    )?;
    check_name(&lit, "the event type", MAX_EVENT_TYPE_BYTES)?;
    Ok(lit)
}

/// `prefix = "Transfer"`.
pub(crate) fn prefix(input: ParseStream<'_>, key: &Ident) -> Result<LitStr> {
    let lit = whole_value(
        input,
        key,
        <LitStr as Parse>::parse,
        "expected a string literal, e.g. `prefix = \"Transfer\"`",
    )?;
    check_name(&lit, "the prefix", MAX_PREFIX_BYTES)?;
    let value = lit.value();
    if let Some((category, _)) = value.split_once('-') {
        return Err(Error::new_spanned(
            &lit,
            format!(
                "the prefix must not contain '-': a correlation group is the stream \
                 `{value}-{{key}}`, whose category is the part before the first '-' (`{category}`), \
                 so a filter on `{value}` would see none of its events; write `{}` instead",
                value.replace('-', "_")
            ),
        ));
    }
    Ok(lit)
}

/// `schema_version = 2`.
pub(crate) fn schema_version(input: ParseStream<'_>, key: &Ident) -> Result<SchemaVersion> {
    if input.peek(Token![-]) {
        return Err(value_error(input, key, "schema versions start at 1"));
    }
    let lit = whole_value(
        input,
        key,
        <LitInt as Parse>::parse,
        "expected a positive integer, e.g. `schema_version = 2`",
    )?;
    if !matches!(lit.suffix(), "" | "u32") {
        return Err(Error::new_spanned(
            &lit,
            "a schema version is a `u32`; write it without a suffix, e.g. `schema_version = 2`",
        ));
    }
    let value = lit
        .base10_parse::<u32>()
        .map_err(|_| Error::new_spanned(&lit, "a schema version must fit in a `u32`"))?;
    if value == 0 {
        return Err(Error::new_spanned(&lit, "schema versions start at 1"));
    }
    Ok(SchemaVersion { value })
}

/// `correlation_set = Transfer`: a type.
pub(crate) fn correlation_set(input: ParseStream<'_>, key: &Ident) -> Result<Type> {
    if input.peek(LitStr) {
        return Err(value_error(
            input,
            key,
            "expected a type, not a string: `correlation_set = Transfer`, \
             naming a type that derives `CorrelatedSet`",
        ));
    }
    whole_value(
        input,
        key,
        Type::parse,
        "expected a type that derives `CorrelatedSet`, e.g. `correlation_set = Transfer`",
    )
}

/// `status = new | exists | any`, or the same in braces, as es-postgres
/// writes it: `status = { exists }`.
pub(crate) fn status(input: ParseStream<'_>, key: &Ident) -> Result<Status> {
    const EXPECTED: &str = "expected `new`, `exists` or `any`";
    if input.peek(LitStr) {
        return Err(value_error(
            input,
            key,
            "expected `new`, `exists` or `any`, without quotes",
        ));
    }
    if input.peek(syn::token::Brace) {
        return braced_status(input, key);
    }
    let word = whole_value(input, key, Ident::parse_any, EXPECTED)?;
    status_word(&word, EXPECTED)
}

/// `{ exists }`: one status word in braces.
fn braced_status(input: ParseStream<'_>, key: &Ident) -> Result<Status> {
    const IN_BRACES: &str =
        "expected one of `new`, `exists` or `any` in the braces, e.g. `status = { exists }`";
    let content;
    let braces = syn::braced!(content in input);
    let inner: TokenStream = content.parse()?;
    if !(input.is_empty() || input.peek(Token![,])) {
        return Err(input.error(format!(
            "expected `,` after the value of `{key}`, before the next key"
        )));
    }
    let mut tokens = inner.clone().into_iter();
    match (tokens.next(), tokens.next()) {
        (Some(TokenTree::Ident(word)), None) => status_word(&word, IN_BRACES),
        (None, _) => Err(Error::new(braces.span.join(), IN_BRACES)),
        _ => Err(Error::new_spanned(inner, IN_BRACES)),
    }
}

/// The status a word names.
fn status_word(word: &Ident, expected: &str) -> Result<Status> {
    match word.unraw().to_string().as_str() {
        "new" => Ok(Status::New),
        "exists" => Ok(Status::Exists),
        "any" => Ok(Status::Any),
        _ => Err(Error::new_spanned(word, expected)),
    }
}

/// `idempotency = ["a", "b"]` or `correlation = [..]`: a non-empty list of
/// distinct string literals. Whether the fields exist is checked by the
/// derive that uses them.
pub(crate) fn field_list(input: ParseStream<'_>, key: &Ident) -> Result<FieldList> {
    let example = format!("`{key} = [\"request_id\"]`");
    if !input.peek(syn::token::Bracket) {
        return Err(value_error(
            input,
            key,
            &format!("expected a list of field names in brackets, e.g. {example}"),
        ));
    }
    let content;
    let brackets = syn::bracketed!(content in input);
    let mut names: Vec<LitStr> = Vec::new();
    while !content.is_empty() {
        let name = field_name(&content)?;
        if let Some(first) = names.iter().find(|n| n.value() == name.value()) {
            let mut error = Error::new_spanned(
                &name,
                format!("field `{}` is listed twice in `{key}`", name.value()),
            );
            error.combine(Error::new_spanned(first, "first listed here"));
            return Err(error);
        }
        names.push(name);
        if content.is_empty() {
            break;
        }
        content.parse::<Token![,]>()?;
    }
    if !(input.is_empty() || input.peek(Token![,])) {
        let rest = rest_of_value(input)?;
        return Err(Error::new_spanned(
            rest,
            format!("expected `,` or the end of the attribute after the list of `{key}`"),
        ));
    }
    if names.is_empty() {
        return Err(Error::new(
            brackets.span.join(),
            format!("`{key}` needs at least one field, e.g. {example}"),
        ));
    }
    Ok(FieldList { names })
}

/// One element of a field list: a string literal. A bare identifier gets
/// an error that shows it quoted.
fn field_name(content: ParseStream<'_>) -> Result<LitStr> {
    if content.peek(LitStr) {
        return content.parse();
    }
    let fork = content.fork();
    let bare = fork
        .call(Ident::parse_any)
        .ok()
        .filter(|_| fork.is_empty() || fork.peek(Token![,]));
    let tokens = rest_of_value(content)?;
    let message = match bare {
        Some(ident) => format!("field names are string literals: write `\"{ident}\"`"),
        None => "expected a field name as a string literal, e.g. `\"request_id\"`".to_owned(),
    };
    if tokens.is_empty() {
        // A stray comma, as in `[, "a"]`.
        return Err(Error::new(
            content.span(),
            "expected a field name as a string literal, e.g. `\"request_id\"`",
        ));
    }
    Err(Error::new_spanned(tokens, message))
}
