//! `#[derive(InjectableEvent)]`: idempotency key, correlation id, correlation
//! set and expected group status, from named fields.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Error, Fields, FieldsNamed, Ident, Result};

use crate::attrs::{self, Args, Errors};
use crate::domain_event;
use crate::values::{FieldList, Status};

/// What the `es` keys of an injectable event say, checked against its
/// fields.
pub(crate) struct Injectable<'a> {
    /// `self.field` for each idempotency field.
    idempotency_fields: Vec<TokenStream>,
    /// `self.field` for each correlation field.
    correlation_fields: Vec<TokenStream>,
    /// The correlation set.
    set: &'a syn::Type,
}

/// Expands the derive: `InjectableEvent`, and `DomainEvent` from the same
/// attribute (see `domain_event::expand` for why both derives may be
/// given). When only the injection keys are wrong, `DomainEvent` is still
/// implemented, so that the errors are about those keys alone.
pub(crate) fn expand(input: &DeriveInput) -> Result<TokenStream> {
    let attrs = attrs::parse_item(input)?;
    named_fields(input)?;
    let domain_event = domain_event::implementation(input, &attrs)?;
    let injectable = match validate(input, &attrs.item) {
        Ok(injectable) => implementation(input, &attrs.item, &injectable),
        Err(errors) => errors.into_compile_error(),
    };
    Ok(quote!(#domain_event #injectable))
}

/// Checks the keys of `InjectableEvent` against the struct's fields,
/// reporting every mistake.
pub(crate) fn validate<'a>(input: &DeriveInput, attrs: &'a Args) -> Result<Injectable<'a>> {
    let name = &input.ident;
    let fields = named_fields(input)?;

    let mut errors = Errors::default();
    let idempotency = required(&mut errors, attrs.idempotency.as_ref(), name, "idempotency");
    let correlation = required(&mut errors, attrs.correlation.as_ref(), name, "correlation");
    if attrs.correlation_set.is_none() {
        errors.push(Error::new_spanned(
            name,
            format!(
                "`#[derive(InjectableEvent)]` on `{name}` needs `#[es(correlation_set = Set)]`, \
                 naming the type that derives `CorrelatedSet` for its family of events"
            ),
        ));
    }
    let idempotency_fields =
        idempotency.map(|list| field_accesses(&mut errors, list, fields, name));
    let correlation_fields =
        correlation.map(|list| field_accesses(&mut errors, list, fields, name));
    errors.finish()?;
    let (Some(idempotency_fields), Some(correlation_fields), Some(set)) = (
        idempotency_fields,
        correlation_fields,
        attrs.correlation_set.as_ref(),
    ) else {
        // Every missing piece was reported above.
        return Err(Error::new_spanned(name, "incomplete `es` attribute"));
    };
    Ok(Injectable {
        idempotency_fields,
        correlation_fields,
        set,
    })
}

/// The `InjectableEvent` implementation.
fn implementation(input: &DeriveInput, attrs: &Args, injectable: &Injectable<'_>) -> TokenStream {
    let Injectable {
        idempotency_fields,
        correlation_fields,
        set,
    } = injectable;
    let name = &input.ident;
    let status = match attrs.status.unwrap_or(Status::New) {
        Status::New => quote!(New),
        Status::Exists => quote!(Exists),
        Status::Any => quote!(Any),
    };
    let idempotency_format = format_string(idempotency_fields.len());
    let correlation_format = format_string(correlation_fields.len());
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics ::factum::InjectableEvent for #name #type_generics #where_clause {
            type Set = #set;

            const STATUS: ::factum::CorrelationStatus = ::factum::CorrelationStatus::#status;

            fn idempotency_key(&self) -> ::std::string::String {
                ::std::format!(
                    #idempotency_format,
                    ::factum::DomainEvent::event_type(self),
                    #(#idempotency_fields),*
                )
            }

            fn correlation_id(&self) -> ::std::string::String {
                ::std::format!(
                    #correlation_format,
                    <#set as ::factum::CorrelatedSet>::PREFIX,
                    #(#correlation_fields),*
                )
            }
        }
    }
}

/// The named fields of the struct; anything else cannot carry the keys.
fn named_fields(input: &DeriveInput) -> Result<&FieldsNamed> {
    let name = &input.ident;
    match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(fields) => Ok(fields),
            Fields::Unnamed(fields) => Err(Error::new_spanned(
                fields,
                format!(
                    "`#[derive(InjectableEvent)]` needs a struct with named fields, \
                     which the idempotency and correlation lists name; `{name}` is a tuple struct"
                ),
            )),
            Fields::Unit => Err(Error::new_spanned(
                name,
                format!(
                    "`#[derive(InjectableEvent)]` needs a struct with named fields, \
                     which the idempotency and correlation lists name; `{name}` is a unit struct"
                ),
            )),
        },
        Data::Enum(data) => Err(Error::new_spanned(
            data.enum_token,
            "`#[derive(InjectableEvent)]` cannot be used on an enum: each injectable event is \
             a struct with named fields (an enum can still derive `DomainEvent`)",
        )),
        Data::Union(data) => Err(Error::new_spanned(
            data.union_token,
            "`#[derive(InjectableEvent)]` cannot be used on a union: it needs a struct \
             with named fields",
        )),
    }
}

/// The list given for `key`, or an error at the type's name.
fn required<'a>(
    errors: &mut Errors,
    list: Option<&'a FieldList>,
    name: &Ident,
    key: &str,
) -> Option<&'a FieldList> {
    if list.is_none() {
        let what = match key {
            "idempotency" => "the fields that make retries of one event equal",
            _ => "the fields that name its correlation group",
        };
        errors.push(Error::new_spanned(
            name,
            format!(
                "`#[derive(InjectableEvent)]` on `{name}` needs \
                 `#[es({key} = [\"field\", ...])]`, listing {what}"
            ),
        ));
    }
    list
}

/// `self.field` for each listed name, spanned at the name's literal so that
/// type errors (a field that is not `Display`) point there; unknown names
/// are recorded as errors.
fn field_accesses(
    errors: &mut Errors,
    list: &FieldList,
    fields: &FieldsNamed,
    name: &Ident,
) -> Vec<TokenStream> {
    let mut accesses = Vec::new();
    for lit in &list.names {
        let written = lit.value();
        // `"type"` and `"r#type"` both name the field `r#type`.
        let wanted = written.strip_prefix("r#").unwrap_or(&written);
        let found = fields
            .named
            .iter()
            .filter_map(|field| field.ident.as_ref())
            .find(|ident| ident.unraw() == wanted);
        match found {
            Some(ident) => {
                let mut ident = ident.clone();
                ident.set_span(lit.span());
                accesses.push(quote_spanned!(lit.span()=> self.#ident));
            }
            None => {
                let known: Vec<String> = fields
                    .named
                    .iter()
                    .filter_map(|field| field.ident.as_ref())
                    .map(|ident| ident.unraw().to_string())
                    .collect();
                let known = if known.is_empty() {
                    "it has none".to_owned()
                } else {
                    format!("fields are: {}", known.join(", "))
                };
                errors.push(Error::new_spanned(
                    lit,
                    format!("no field `{wanted}` on `{name}`; {known}"),
                ));
            }
        }
    }
    accesses
}

/// `"{}-{}-..."` with one `{}` for the first part and one per field.
fn format_string(fields: usize) -> String {
    let mut format = String::from("{}");
    for _ in 0..fields {
        format.push_str("-{}");
    }
    format
}
