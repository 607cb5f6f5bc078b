//! [`Xid8`]: PostgreSQL's 64-bit transaction id (`xid8`), the first part of
//! a global position, read in its binary form. PostgreSQL has no cast from
//! `xid8` to `bigint`; going through `text` would cost a conversion per row.

use factum_core::{Error, GlobalPosition};
use sqlx::error::BoxDynError;
use sqlx::postgres::types::Oid;
use sqlx::postgres::{PgTypeInfo, PgValueFormat, PgValueRef, Postgres};
use sqlx::{Decode, Type};

use crate::error::unsigned;

/// The object id of the built-in type `xid8` (fixed since PostgreSQL 13).
const XID8_OID: Oid = Oid(5069);

/// A transaction id as stored in `events.transaction_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Xid8(pub(crate) u64);

impl Xid8 {
    /// The global position of the row written by this transaction with
    /// sequence number `seq`.
    pub(crate) fn position(self, seq: i64) -> Result<GlobalPosition, Error> {
        Ok(GlobalPosition::from_parts(
            self.0,
            unsigned(seq, "a sequence number")?,
        ))
    }
}

impl Type<Postgres> for Xid8 {
    fn type_info() -> PgTypeInfo {
        PgTypeInfo::with_oid(XID8_OID)
    }
}

impl<'r> Decode<'r, Postgres> for Xid8 {
    fn decode(value: PgValueRef<'r>) -> Result<Self, BoxDynError> {
        match value.format() {
            PgValueFormat::Binary => {
                let bytes: [u8; 8] = value.as_bytes()?.try_into()?;
                Ok(Self(u64::from_be_bytes(bytes)))
            }
            PgValueFormat::Text => Ok(Self(value.as_str()?.parse()?)),
        }
    }
}
