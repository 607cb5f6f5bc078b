//! Writing an enum event as the content of its variant
//! ([`PayloadShape::Variant`](crate::PayloadShape::Variant)): a serializer
//! that passes everything through to the codec's own, except the variant
//! calls serde makes for an externally tagged enum, which lose their tag:
//!
//! | variant | serde writes | factum stores |
//! | --- | --- | --- |
//! | `Paid { amount: 5 }` | `{"Paid":{"amount":5}}` | `{"amount":5}` |
//! | `Closed` | `"Closed"` | `{}` |
//! | `Renamed(String)` | `{"Renamed":"bob"}` | `"bob"` |
//! | `Moved(i32, i32)` | `{"Moved":[1,2]}` | `[1,2]` |
//!
//! Only the outermost value is changed: enums inside a payload keep serde's
//! form.

use serde::ser::{
    Serialize, SerializeMap, SerializeStruct, SerializeStructVariant, SerializeTuple,
    SerializeTupleVariant, Serializer,
};

/// Serializes `value` (a derived, externally tagged enum) as its variant's
/// content.
pub(crate) struct VariantContent<'a, T: ?Sized>(pub(crate) &'a T);

impl<T: Serialize + ?Sized> Serialize for VariantContent<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(Untagged(serializer))
    }
}

/// The serializer of [`VariantContent`]: the codec's serializer `S`, minus
/// the variant's tag.
struct Untagged<S>(S);

/// Passes serializer methods through to the inner serializer unchanged.
macro_rules! pass_through {
    ($($method:ident($($arg:ident: $ty:ty),*) -> $out:ty;)*) => {
        $(
            fn $method(self, $($arg: $ty),*) -> Result<$out, Self::Error> {
                self.0.$method($($arg),*)
            }
        )*
    };
}

impl<S: Serializer> Serializer for Untagged<S> {
    type Ok = S::Ok;
    type Error = S::Error;
    type SerializeSeq = S::SerializeSeq;
    type SerializeTuple = S::SerializeTuple;
    type SerializeTupleStruct = S::SerializeTupleStruct;
    type SerializeTupleVariant = TupleContent<S::SerializeTuple>;
    type SerializeMap = S::SerializeMap;
    type SerializeStruct = S::SerializeStruct;
    type SerializeStructVariant = StructContent<S::SerializeStruct>;

    pass_through! {
        serialize_bool(v: bool) -> S::Ok;
        serialize_i8(v: i8) -> S::Ok;
        serialize_i16(v: i16) -> S::Ok;
        serialize_i32(v: i32) -> S::Ok;
        serialize_i64(v: i64) -> S::Ok;
        serialize_i128(v: i128) -> S::Ok;
        serialize_u8(v: u8) -> S::Ok;
        serialize_u16(v: u16) -> S::Ok;
        serialize_u32(v: u32) -> S::Ok;
        serialize_u64(v: u64) -> S::Ok;
        serialize_u128(v: u128) -> S::Ok;
        serialize_f32(v: f32) -> S::Ok;
        serialize_f64(v: f64) -> S::Ok;
        serialize_char(v: char) -> S::Ok;
        serialize_str(v: &str) -> S::Ok;
        serialize_bytes(v: &[u8]) -> S::Ok;
        serialize_none() -> S::Ok;
        serialize_unit() -> S::Ok;
        serialize_unit_struct(name: &'static str) -> S::Ok;
        serialize_seq(len: Option<usize>) -> S::SerializeSeq;
        serialize_tuple(len: usize) -> S::SerializeTuple;
        serialize_tuple_struct(name: &'static str, len: usize) -> S::SerializeTupleStruct;
        serialize_map(len: Option<usize>) -> S::SerializeMap;
        serialize_struct(name: &'static str, len: usize) -> S::SerializeStruct;
    }

    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<S::Ok, S::Error> {
        self.0.serialize_some(value)
    }

    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_newtype_struct(name, value)
    }

    /// A unit variant is stored as an empty map: `{}`.
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
    ) -> Result<S::Ok, S::Error> {
        self.0.serialize_map(Some(0))?.end()
    }

    /// A newtype variant is stored as its inner value.
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        value: &T,
    ) -> Result<S::Ok, S::Error> {
        value.serialize(self.0)
    }

    /// A tuple variant is stored as the array of its fields.
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        _variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleVariant, S::Error> {
        self.0.serialize_tuple(len).map(TupleContent)
    }

    /// A struct variant is stored as a struct of its fields.
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Self::SerializeStructVariant, S::Error> {
        self.0.serialize_struct(variant, len).map(StructContent)
    }

    fn is_human_readable(&self) -> bool {
        self.0.is_human_readable()
    }
}

/// A tuple variant's fields, written as a tuple.
struct TupleContent<T>(T);

impl<T: SerializeTuple> SerializeTupleVariant for TupleContent<T> {
    type Ok = T::Ok;
    type Error = T::Error;

    fn serialize_field<F: Serialize + ?Sized>(&mut self, value: &F) -> Result<(), T::Error> {
        self.0.serialize_element(value)
    }

    fn end(self) -> Result<T::Ok, T::Error> {
        self.0.end()
    }
}

/// A struct variant's fields, written as a struct.
struct StructContent<T>(T);

impl<T: SerializeStruct> SerializeStructVariant for StructContent<T> {
    type Ok = T::Ok;
    type Error = T::Error;

    fn serialize_field<F: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &F,
    ) -> Result<(), T::Error> {
        self.0.serialize_field(key, value)
    }

    fn skip_field(&mut self, key: &'static str) -> Result<(), T::Error> {
        self.0.skip_field(key)
    }

    fn end(self) -> Result<T::Ok, T::Error> {
        self.0.end()
    }
}
