//! The check of an append's condition, under the write lock: the first
//! event stored after the condition's position that matches its query
//! fails the append. Writers are serialized, so nothing can be stored
//! between this check and the append's commit.

use factum_core::BoxError;
use sqlx::Row;
use sqlx::sqlite::SqliteConnection;

use factum_core::StreamId;
use factum_core::backend::stored_u64;

use crate::decode::position;
use crate::encode::Condition;
use crate::error::Failure;
use crate::sql;

/// Fails with [`factum_core::Error::ConditionFailed`] when an event matching
/// the condition's query was stored after its position.
pub(super) async fn check(
    conn: &mut SqliteConnection,
    condition: &Condition,
) -> Result<(), Failure> {
    let Some(after) = condition.after else {
        return Ok(());
    };
    let row = sqlx::query(sql::CONDITION_CONFLICT)
        .bind(condition.query.as_str())
        .bind(after)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(row) = row else {
        return Ok(());
    };
    let stream = StreamId::new(row.try_get::<&str, _>(1)?).map_err(BoxError::from)?;
    Err(Failure::Refused(condition.condition.failed(
        position(row.try_get(0)?)?,
        stream,
        stored_u64(row.try_get(2)?, "a stream version")?,
        row.try_get(3)?,
    )))
}
