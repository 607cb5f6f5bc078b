//! `#[derive(DomainEvent)]`: stored type names and schema versions.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{Data, DataEnum, DeriveInput, Error, LitStr, Result};

use crate::attrs::{self, Args, Errors, ItemAttrs};
use crate::{injectable_event, serde_attrs};

/// One event type a value of the type can have: a struct's single one, or
/// one per enum variant.
struct Event {
    /// The stored type name.
    name: String,
    /// Where the name came from: the override, or the struct/variant name.
    source: Source,
    /// The schema version.
    version: u32,
}

/// Where an event type name was written.
enum Source {
    /// `#[es(event_type = "..")]`.
    Override(LitStr),
    /// The struct's or variant's own name.
    Ident(syn::Ident),
}

impl Source {
    /// An error pointing at where the name was written.
    fn error(&self, message: String) -> Error {
        match self {
            Self::Override(lit) => Error::new_spanned(lit, message),
            Self::Ident(ident) => Error::new_spanned(ident, message),
        }
    }
}

/// Expands the derive. A struct whose `es` attribute has keys of
/// `InjectableEvent` gets its `DomainEvent` implementation from
/// `#[derive(InjectableEvent)]`, so that deriving either or both works;
/// this derive then only checks that `InjectableEvent` is derived, and
/// reports the mistakes of those keys as that derive does (identically, so
/// rustc shows them once).
pub(crate) fn expand(input: &DeriveInput) -> Result<TokenStream> {
    let attrs = attrs::parse_item(input)?;
    if matches!(input.data, Data::Struct(_)) && attrs.item.has_injection_keys() {
        injectable_event::validate(input, &attrs.item)?;
        return Ok(injectable_check(input));
    }
    implementation(input, &attrs)
}

/// Checks that the type implements `InjectableEvent`, whose derive
/// implements `DomainEvent` for it.
fn injectable_check(input: &DeriveInput) -> TokenStream {
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    quote! {
        const _: () = {
            #[allow(dead_code)]
            fn domain_event_comes_from_injectable_event #impl_generics () #where_clause {
                fn injection_keys_need_derive_injectable_event<
                    T: ?::core::marker::Sized + ::factum::InjectableEvent,
                >() {}
                injection_keys_need_derive_injectable_event::<#name #type_generics>();
            }
        };
    }
}

/// The `DomainEvent` implementation of the type.
pub(crate) fn implementation(input: &DeriveInput, attrs: &ItemAttrs) -> Result<TokenStream> {
    let default_version = attrs.item.schema_version.as_ref().map_or(1, |v| v.value);
    let (event_types, versions, event_type, schema_version, shape) = match &input.data {
        Data::Struct(_) => {
            let event = event(&attrs.item, &input.ident, default_version);
            let name = &event.name;
            let version = event.version;
            (
                quote!(#name),
                quote!(#version),
                quote!(#name),
                quote!(#version),
                None,
            )
        }
        Data::Enum(data) => {
            let (names, versions, event_type, schema_version) =
                enum_bodies(data, &attrs.variants, default_version)?;
            let shape = serde_attrs::variant_indexes(&input.attrs, data).map(|indexes| {
                let indexes = indexes.iter().map(|index| match index {
                    Some(index) => quote!(::core::option::Option::Some(#index)),
                    None => quote!(::core::option::Option::None),
                });
                quote! {
                    const PAYLOAD_SHAPE: ::factum::PayloadShape =
                        ::factum::PayloadShape::Variant { indexes: &[#(#indexes),*] };
                }
            });
            (names, versions, event_type, schema_version, shape)
        }
        Data::Union(data) => {
            return Err(Error::new_spanned(
                data.union_token,
                "`DomainEvent` cannot be derived for a union: an event is a serde struct or enum",
            ));
        }
    };
    let name = &input.ident;
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::factum::DomainEvent for #name #type_generics #where_clause {
            const EVENT_TYPES: &'static [&'static str] = &[#event_types];

            const SCHEMA_VERSIONS: &'static [u32] = &[#versions];

            #shape

            fn event_type(&self) -> &'static str {
                #event_type
            }

            fn schema_version(&self) -> u32 {
                #schema_version
            }
        }
    })
}

/// The event of a struct or variant named `ident` with attributes `args`.
fn event(args: &Args, ident: &syn::Ident, default_version: u32) -> Event {
    let (name, source) = match &args.event_type {
        Some(lit) => (lit.value(), Source::Override(lit.clone())),
        None => (ident.unraw().to_string(), Source::Ident(ident.clone())),
    };
    Event {
        name,
        source,
        version: args
            .schema_version
            .as_ref()
            .map_or(default_version, |v| v.value),
    }
}

/// The list of names, the list of their schema versions, the `event_type`
/// body and the `schema_version` body of an enum: one match arm per
/// variant. Two variants may not share a name.
fn enum_bodies(
    data: &DataEnum,
    variant_args: &[Args],
    default_version: u32,
) -> Result<(TokenStream, TokenStream, TokenStream, TokenStream)> {
    let mut errors = Errors::default();
    let mut events: Vec<Event> = Vec::new();
    for (variant, args) in data.variants.iter().zip(variant_args) {
        let event = event(args, &variant.ident, default_version);
        if let Some(first) = events.iter().find(|e| e.name == event.name) {
            let mut error = event.source.error(format!(
                "event type `{}` is used by two variants; each variant needs its own \
                 (set one with `#[es(event_type = \"..\")]`)",
                event.name
            ));
            error.combine(first.source.error("first used here".to_owned()));
            errors.push(error);
        }
        events.push(event);
    }
    errors.finish()?;

    let names: Vec<&String> = events.iter().map(|e| &e.name).collect();
    let variants: Vec<&syn::Ident> = data.variants.iter().map(|v| &v.ident).collect();
    let versions: Vec<u32> = events.iter().map(|e| e.version).collect();
    let list = quote!(#(#names),*);
    let version_list = quote!(#(#versions),*);
    let event_type = quote! {
        match *self {
            #(Self::#variants { .. } => #names,)*
        }
    };
    let schema_version = if versions.iter().all(|v| *v == default_version) && !events.is_empty() {
        quote!(#default_version)
    } else {
        quote! {
            match *self {
                #(Self::#variants { .. } => #versions,)*
            }
        }
    };
    Ok((list, version_list, event_type, schema_version))
}
