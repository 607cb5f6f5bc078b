//! `#[derive(CorrelatedSet)]`: the prefix of a family's correlation ids.

use proc_macro2::TokenStream;
use quote::quote;
use syn::ext::IdentExt;
use syn::{DeriveInput, Result};

use crate::attrs;

/// Expands the derive.
pub(crate) fn expand(input: &DeriveInput) -> Result<TokenStream> {
    let attrs = attrs::parse_item(input)?;
    let name = &input.ident;
    let prefix = attrs
        .item
        .prefix
        .map_or_else(|| name.unraw().to_string(), |lit| lit.value());
    let (impl_generics, type_generics, where_clause) = input.generics.split_for_impl();
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::factum::CorrelatedSet for #name #type_generics #where_clause {
            const PREFIX: &'static str = #prefix;
        }
    })
}
