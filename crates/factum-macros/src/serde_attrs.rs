//! What `#[derive(DomainEvent)]` needs to know of serde's own attributes:
//! whether an enum keeps serde's default (externally tagged) form, and
//! which variants serde skips when deserializing. Only the keys are read;
//! serde itself checks the attributes.

use proc_macro2::TokenTree;
use syn::{Attribute, DataEnum, Meta};

/// The keys at the top level of the `#[serde(..)]` attributes among
/// `attrs`: `tag` of `tag = "type"`, `untagged`, `skip`...
fn keys(attrs: &[Attribute]) -> Vec<String> {
    let mut keys = Vec::new();
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        let Meta::List(list) = &attr.meta else {
            continue;
        };
        let mut at_key = true;
        for token in list.tokens.clone() {
            match token {
                TokenTree::Ident(ident) if at_key => {
                    keys.push(ident.to_string());
                    at_key = false;
                }
                TokenTree::Punct(punct) if punct.as_char() == ',' => at_key = true,
                _ => at_key = false,
            }
        }
    }
    keys
}

/// For each variant of an enum in serde's default externally tagged form,
/// its index among the variants serde deserializes (`None`: skipped);
/// `None` for an enum serde writes otherwise (`tag`, `untagged`, or an
/// untagged variant), which is stored as serde writes it.
pub(crate) fn variant_indexes(attrs: &[Attribute], data: &DataEnum) -> Option<Vec<Option<u32>>> {
    let tagged_otherwise = |keys: Vec<String>| keys.iter().any(|k| k == "tag" || k == "untagged");
    if tagged_otherwise(keys(attrs)) {
        return None;
    }
    let mut next = 0;
    let mut indexes = Vec::new();
    for variant in &data.variants {
        let keys = keys(&variant.attrs);
        if keys.iter().any(|k| k == "untagged") {
            return None;
        }
        if keys
            .iter()
            .any(|k| k == "skip" || k == "skip_deserializing")
        {
            indexes.push(None);
        } else {
            indexes.push(Some(next));
            next += 1;
        }
    }
    Some(indexes)
}
