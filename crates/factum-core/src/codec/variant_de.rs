//! Reading an enum event stored as the content of its variant
//! ([`PayloadShape::Variant`](crate::PayloadShape::Variant)): the variant
//! comes from the stored event type, not from the payload. A deserializer
//! answers serde's `deserialize_enum` with that variant (by its index among
//! the variants serde deserializes) and hands the whole payload over as the
//! variant's content; every other request passes through to the codec's own
//! deserializer.

use std::marker::PhantomData;

use serde::de::{
    DeserializeSeed, Deserializer, EnumAccess, IgnoredAny, IntoDeserializer, VariantAccess, Visitor,
};
use serde::{Deserialize, de};

/// Deserializes an `E` whose variant is the one at `index` among those serde
/// deserializes, from the variant's content.
pub(crate) struct VariantSeed<E> {
    /// The variant's index among the variants serde deserializes.
    pub(crate) index: u32,
    pub(crate) event: PhantomData<E>,
}

impl<'de, E: Deserialize<'de>> DeserializeSeed<'de> for VariantSeed<E> {
    type Value = E;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<E, D::Error> {
        E::deserialize(Tagged {
            inner: deserializer,
            index: self.index,
        })
    }
}

/// The codec's deserializer `D`, with the tag supplied from outside.
struct Tagged<D> {
    inner: D,
    index: u32,
}

/// Passes deserializer methods through to the inner deserializer.
macro_rules! pass_through {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, D::Error> {
                self.inner.$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Tagged<D> {
    type Error = D::Error;

    pass_through! {
        deserialize_any();
        deserialize_bool();
        deserialize_i8();
        deserialize_i16();
        deserialize_i32();
        deserialize_i64();
        deserialize_i128();
        deserialize_u8();
        deserialize_u16();
        deserialize_u32();
        deserialize_u64();
        deserialize_u128();
        deserialize_f32();
        deserialize_f64();
        deserialize_char();
        deserialize_str();
        deserialize_string();
        deserialize_bytes();
        deserialize_byte_buf();
        deserialize_option();
        deserialize_unit();
        deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str);
        deserialize_seq();
        deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_identifier();
        deserialize_ignored_any();
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        visitor.visit_enum(Variant {
            inner: self.inner,
            index: self.index,
            name,
        })
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// The variant chosen by the event type, and its content.
struct Variant<D> {
    inner: D,
    index: u32,
    /// The enum's name, passed on where the codec asks for a struct's name.
    name: &'static str,
}

impl<'de, D: Deserializer<'de>> EnumAccess<'de> for Variant<D> {
    type Error = D::Error;
    type Variant = Self;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self), D::Error> {
        let index: de::value::U32Deserializer<D::Error> = self.index.into_deserializer();
        Ok((seed.deserialize(index)?, self))
    }
}

impl<'de, D: Deserializer<'de>> VariantAccess<'de> for Variant<D> {
    type Error = D::Error;

    /// A unit variant's content (`{}`, as written) carries nothing; whatever
    /// is stored is read past.
    fn unit_variant(self) -> Result<(), D::Error> {
        IgnoredAny::deserialize(self.inner).map(drop)
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, D::Error> {
        seed.deserialize(self.inner)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, D::Error> {
        self.inner.deserialize_tuple(len, visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, D::Error> {
        self.inner.deserialize_struct(self.name, fields, visitor)
    }
}
